"""Still-image pairs, self-supervised random-box pairs and sequence exclusion in dataset specs."""
import numpy as np
import pytest

from loretrack_plugin.data import CropSpec, PairProcessing, PairSampler
from loretrack_plugin.data.readers import OtbFolder, RandomBoxes, StillFrames, build_dataset


def test_still_frames_are_one_frame_sequences_of_visible_frames(synthetic_roots):
    video = build_dataset({"type": "otb", "root": synthetic_roots["otb"]})
    still = build_dataset({"type": "otb", "root": synthetic_roots["otb"], "pairs": "still"})
    assert isinstance(still, StillFrames) and not still.is_video
    n_visible = sum(int(video.sequence_info(i).visible.sum()) for i in range(len(video)))
    assert len(still) == n_visible
    # item k is frame f of sequence i: same pixels and box as the video reader's
    i, f = still._items[7]
    np.testing.assert_array_equal(still.frame(7, 0), video.frame(i, f))
    np.testing.assert_array_equal(still.sequence_info(7).bbox[0], video.sequence_info(i).bbox[f])
    assert still.sequence_name(7) == f"{video.sequence_name(i)}#{f + 1}"


def test_random_boxes_are_deterministic_and_inside_the_frame(synthetic_roots):
    spec = {"type": "otb", "root": synthetic_roots["otb"], "pairs": "random",
            "pair_options": {"boxes_per_frame": 8, "min_size": 0.1, "max_size": 0.3, "max_aspect": 2.0}}
    ds, again = build_dataset(spec), build_dataset(spec)
    assert isinstance(ds, RandomBoxes) and not ds.is_video
    n_frames = sum(len(ds.base.sequence_info(i)) for i in range(len(ds.base)))
    assert len(ds) == 8 * n_frames
    H, W = ds.frame(0, 0).shape[:2]
    sides = []
    for k in range(0, len(ds), 5):
        x, y, w, h = ds.sequence_info(k).bbox[0]
        np.testing.assert_array_equal(ds.sequence_info(k).bbox, again.sequence_info(k).bbox)
        assert 0 <= x and 0 <= y and x + w <= W and y + h <= H
        assert 0.5 - 1e-9 <= w / h <= 2.0 + 1e-9
        sides.append(np.sqrt(w * h) / min(W, H))
    assert 0.1 - 1e-6 <= min(sides) and max(sides) <= 0.3 * np.sqrt(2.0) + 1e-6
    assert len({tuple(ds.sequence_info(k).bbox[0]) for k in range(8)}) == 8  # boxes of one frame differ
    # a pair sampled from it: template and search come from the same frame
    sampler = PairSampler([ds], None, PairProcessing(CropSpec(32, 2.0), CropSpec(64, 4.0, 3.0, 0.25)), 4, seed=1)
    s = sampler[0]
    assert s["sample_id"].startswith("otb-random:") and "->0" in s["sample_id"]
    assert s["search"].shape == (3, 64, 64)


def test_pair_mode_errors_name_the_dataset(synthetic_roots):
    root = synthetic_roots["otb"]
    with pytest.raises(ValueError, match="pairs='pairs'"):
        build_dataset({"type": "otb", "root": root, "pairs": "pairs"})
    with pytest.raises(ValueError, match="pair_options need pairs"):
        build_dataset({"type": "otb", "root": root, "pair_options": {"boxes_per_frame": 2}})
    with pytest.raises(ValueError, match="bad pair_options"):
        build_dataset({"type": "otb", "root": root, "pairs": "still", "pair_options": {"boxes_per_frame": 2}})
    with pytest.raises(ValueError, match="min_size"):
        build_dataset({"type": "otb", "root": root, "pairs": "random", "pair_options": {"min_size": 0.5,
                                                                                        "max_size": 0.2}})


def test_exclude_leaves_sequences_out(synthetic_roots):
    root = synthetic_roots["otb"]
    names = OtbFolder(root)._names
    ds = build_dataset({"type": "otb", "root": root, "exclude": [names[0]]})
    assert ds._names == names[1:]
    still = build_dataset({"type": "otb", "root": root, "exclude": [names[0]], "pairs": "still"})
    assert all(not n.startswith(names[0] + "#") for n in still._names)
    with pytest.raises(ValueError, match="excluded sequences not found: \\['nope'\\]"):
        build_dataset({"type": "otb", "root": root, "exclude": ["nope"]})
