"""The causal pair sampler: frame rules, determinism, sharding, unreadable frames."""
import os
import shutil

import numpy as np
import pytest
import torch

from loretrack_plugin.data import (CropSpec, OtbFolder, PairProcessing, PairSampler, SamplingError, SequenceInfo,
                                   ShardedBatches, TrackingDataset, collate)


class MemoryDataset(TrackingDataset):
    """Sequences held in memory: frame i of every sequence is a grey image of value i."""

    name = "mem"

    def __init__(self, visible_masks, is_video=True):
        self.root = "<memory>"
        self._names = [f"s{i}" for i in range(len(visible_masks))]
        self._vis = [np.asarray(v, bool) for v in visible_masks]
        self._cache = {}
        self.is_video = is_video
        self.loaded = []

    def _load_info(self, index):
        n = len(self._vis[index])
        box = np.tile([[40.0, 30.0, 20.0, 20.0]], (n, 1))
        return SequenceInfo.from_boxes(box, self._vis[index])

    def sequence_info(self, index):
        return self._load_info(index)

    def frame(self, index, frame_id):
        self.loaded.append((index, frame_id))
        return np.full((100, 120, 3), frame_id % 256, np.uint8)


def _proc():
    return PairProcessing(CropSpec(32, 2.0), CropSpec(64, 4.0, 1.0, 0.1))


def _ids(sample):
    _, seq, pair = sample["sample_id"].split(":")
    t, s = pair.split("->")
    return seq, int(t), int(s)


def test_causal_frames_are_visible_and_ordered():
    vis = np.zeros(60, bool)
    vis[[0, 1, 2, 30, 31, 45, 59]] = True
    ds = MemoryDataset([vis])
    sampler = PairSampler([ds], None, _proc(), 200, max_gap=10, seed=0)
    for i in range(200):
        _, t, s = _ids(sampler[i])
        assert vis[t] and vis[s] and s > t and t < 59


def test_search_window_grows_by_five_until_a_visible_frame_is_reached():
    vis = np.zeros(60, bool)
    vis[[5, 59]] = True  # template must be 5 (59 is the last frame); search 59 needs 5 + 10 + g > 59
    sampler = PairSampler([MemoryDataset([vis])], None, _proc(), 1, max_gap=10)
    assert sampler._pick_frames(vis, np.random.default_rng(0)) == (5, 59)
    vis[8] = True  # 5 -> 8 is in the first window; 8 -> 59 needs 9 failed tries in a row (not with these seeds)
    for seed in range(10):
        assert sampler._pick_frames(vis, np.random.default_rng(seed)) == (5, 8)


def test_short_sequences_are_skipped_and_min_visible_enforced():
    short = np.ones(10, bool)            # < 20 frames
    few = np.zeros(40, bool)
    few[[3, 5, 7, 9]] = True             # only 4 visible frames: not "more than 4"
    good = np.ones(25, bool)
    ds = MemoryDataset([short, few, good])
    sampler = PairSampler([ds], None, _proc(), 50, seed=1)
    assert {_ids(sampler[i])[0] for i in range(50)} == {"s2"}
    with pytest.raises(SamplingError, match="no sequence with >= 20 frames"):
        PairSampler([MemoryDataset([short, few])], None, _proc(), 5, seed=1, max_attempts=30)[0]


def test_image_datasets_use_one_frame_for_both_crops():
    ds = MemoryDataset([np.ones(1, bool)], is_video=False)
    s = PairSampler([ds], None, _proc(), 10, seed=2)[3]
    assert _ids(s)[1:] == (0, 0) and ds.loaded == [(0, 0)]


def test_dataset_weights():
    a, b = MemoryDataset([np.ones(30, bool)]), MemoryDataset([np.ones(30, bool)])
    b.name = "other"
    sampler = PairSampler([a, b], [1.0, 0.0], _proc(), 30, seed=3)
    assert all(sampler[i]["sample_id"].startswith("mem:") for i in range(30))
    mixed = PairSampler([a, b], [1.0, 1.0], _proc(), 400, seed=3)
    share = np.mean([mixed[i]["sample_id"].startswith("other:") for i in range(400)])
    assert 0.4 < share < 0.6
    with pytest.raises(ValueError, match="weights"):
        PairSampler([a, b], [1.0], _proc(), 10)


def test_samples_are_a_function_of_seed_epoch_and_index(real_otb_root):
    ds = OtbFolder(real_otb_root, sequences=["Biker", "vot15_bag"])
    sampler = PairSampler([ds], None, PairProcessing(CropSpec(32, 2.0), CropSpec(64, 5.0, 4.5, 0.5)), 100, seed=7)
    a, b = sampler[5], sampler[5]
    assert a["sample_id"] == b["sample_id"]
    assert torch.equal(a["search"], b["search"]) and torch.equal(a["search_box"], b["search_box"])
    sampler.set_epoch(1)
    assert not torch.equal(sampler[5]["search"], a["search"])
    # with a data-loader worker process the stream is the same
    loader = torch.utils.data.DataLoader(sampler, batch_sampler=ShardedBatches(8, 4), num_workers=1, collate_fn=collate)
    batches = list(loader)
    assert batches[1]["index"] == [4, 5, 6, 7]
    assert torch.equal(batches[1]["search"][1], sampler[5]["search"])


def test_sharded_batches_union_equals_single_process():
    one = list(ShardedBatches(40, 8, rank=0, world=1))
    r0 = list(ShardedBatches(40, 4, rank=0, world=2))
    r1 = list(ShardedBatches(40, 4, rank=1, world=2))
    assert len(one) == len(r0) == len(r1) == 5
    for s in range(5):
        assert sorted(r0[s] + r1[s]) == one[s]
    assert list(ShardedBatches(40, 8, start_step=3)) == one[3:]
    with pytest.raises(ValueError, match="smaller than one global batch"):
        ShardedBatches(10, 8, world=2)


def test_unreadable_frames_are_skipped_and_reported(real_otb_root, tmp_path):
    src = os.path.join(real_otb_root, "Crossing")
    dst = tmp_path / "otb" / "Crossing"
    shutil.copytree(src, dst)
    for f in sorted(os.listdir(dst / "img"))[::2]:  # every other frame is garbage
        (dst / "img" / f).write_bytes(b"not an image")
    ds = OtbFolder(str(tmp_path / "otb"))
    sampler = PairSampler([ds], None, PairProcessing(CropSpec(32, 2.0), CropSpec(64, 5.0)), 30, seed=0)
    samples = [sampler[i] for i in range(30)]
    corrupt = [p for s in samples for p in s["corrupt"]]
    assert corrupt and all(p.startswith(str(dst / "img")) for p in corrupt)
    for s in samples:  # every returned pair uses two readable frames
        _, t, sid = _ids(s)
        assert t % 2 == 1 and sid % 2 == 1
    batch = collate(samples[:4])
    assert batch["search"].shape == (4, 3, 64, 64) and isinstance(batch["corrupt"], list)
