"""The optional augmentations (data/augment.py): off = the official samples, labels never move, and
each augmentation touches only what it claims to."""
import numpy as np
import pytest
import torch

from loretrack_plugin.config import ConfigError
from loretrack_plugin.data import CropSpec, OtbFolder, PairProcessing, PairSampler
from loretrack_plugin.data import augment as aug
from loretrack_plugin.train.config import load_config


def _frame(seed=0, h=120, w=160):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _proc(augment=None, **kw):
    return PairProcessing(CropSpec(32, 2.0), CropSpec(64, 4.0, 1.0, 0.1), augment=augment, **kw)


def test_all_off_gives_the_official_samples_bit_for_bit():
    frame, box = _frame(), np.array([60.0, 40.0, 20.0, 30.0])
    assert not aug.Augment().active
    for seed in range(5):
        ref = _proc()(np.random.default_rng(seed), frame, box, frame, box)
        out = _proc(aug.Augment(occlusion=0.3))(np.random.default_rng(seed), frame, box, frame, box)
        for k in ref:
            np.testing.assert_array_equal(out[k], ref[k])


def test_augmentations_change_pixels_but_never_the_labels():
    frame, box = _frame(1), np.array([60.0, 40.0, 20.0, 30.0])
    strong = aug.Augment(occlusion_prob=1.0, blur_prob=1.0, color=0.4)
    # no box jitter and no crop flip: the labels depend on the boxes alone, whatever the draws
    still = dict(template=CropSpec(32, 2.0), search=CropSpec(64, 4.0), crop_flip_prob=0.0)
    ref = PairProcessing(**still)(np.random.default_rng(3), frame, box, frame, box)
    out = PairProcessing(**still, augment=strong)(np.random.default_rng(3), frame, box, frame, box)
    np.testing.assert_array_equal(out["search_box"], ref["search_box"])
    np.testing.assert_array_equal(out["template_box"], ref["template_box"])
    assert not np.allclose(out["search"], ref["search"])
    # validation never augments
    val = _proc(strong, train=False)(np.random.default_rng(3), frame, box, frame, box)
    plain = _proc(train=False)(np.random.default_rng(3), frame, box, frame, box)
    np.testing.assert_array_equal(val["search"], plain["search"])


def test_distractor_is_pasted_away_from_the_target():
    rng = np.random.default_rng(0)
    patch = np.zeros((96, 96, 3), np.uint8)
    target = np.array([40.0, 40.0, 16.0, 16.0])
    source = np.full((60, 80, 3), 200, np.uint8)
    assert aug.paste_distractor(rng, patch, target, source, np.array([10.0, 10.0, 20.0, 14.0]))
    changed = patch.any(axis=2)
    assert changed.sum() > 50
    assert not changed[40:56, 40:56].any()   # the target box is untouched
    # the paste has a soft edge: partly blended pixels exist
    assert ((patch[..., 0] > 0) & (patch[..., 0] < 200)).any()


def test_distractor_that_cannot_fit_is_skipped():
    patch = np.zeros((32, 32, 3), np.uint8)
    target = np.array([0.0, 0.0, 30.0, 30.0])   # fills the crop: nowhere else to go
    assert not aug.paste_distractor(np.random.default_rng(0), patch, target, _frame(), np.array([5.0, 5, 20, 20]))
    assert not patch.any()


def test_occluder_covers_part_of_the_target_but_not_its_centre():
    for seed in range(20):
        patch = np.zeros((96, 96, 3), np.uint8)
        patch[:, :48] = 255    # the occluder is copied from somewhere in the crop: either colour
        patch[:, 48:] = 100
        before = patch.copy()
        target = np.array([30.0, 30.0, 36.0, 24.0])
        aug.occlude(np.random.default_rng(seed), patch, target, max_fraction=0.5)
        diff = (patch != before).any(axis=2)
        ys, xs = np.nonzero(diff)
        if len(ys):
            assert xs.min() >= 30 and xs.max() < 66 and ys.min() >= 30 and ys.max() < 54
        # never past the target's centre (48, 42)
        assert not diff[42, 48] or not (diff[:, 30].any() and diff[:, 65].any())
        assert diff.sum() <= 0.5 * 36 * 24 + 1


def test_color_jitter_keeps_grey_grey_and_keeps_the_mean_under_contrast():
    img = np.random.default_rng(0).random((1, 8, 8)).repeat(3, axis=0).astype(np.float32)
    out = aug.color_jitter(np.random.default_rng(1), img, 0.5)
    np.testing.assert_allclose(out[0], out[1], atol=1e-6)   # saturation does nothing to grey
    np.testing.assert_allclose(out.mean(), img.mean(), atol=1e-5)


def test_sampler_draws_distractors_deterministically(real_otb_root):
    ds = OtbFolder(real_otb_root, sequences=["Biker", "vot15_bag"])
    with_d = PairSampler([ds], None, _proc(aug.Augment(distractor_prob=1.0)), 20, seed=7)
    without = PairSampler([ds], None, _proc(), 20, seed=7)
    a, b = with_d[3], with_d[3]
    assert torch.equal(a["search"], b["search"])
    c = without[3]
    assert a["sample_id"] == c["sample_id"]     # the pair is drawn before the distractor
    assert not torch.equal(a["search"], c["search"])


@pytest.mark.parametrize("override, match", [
    ({"bogus": 1}, "unknown config key 'data.augment.bogus'"),
    ({"blur_prob": 1.5}, r"data.augment.blur_prob=1.5 must be in \[0, 1\]"),
    ({"occlusion": 0.0}, r"data.augment.occlusion=0.0 must be in \(0, 1\)"),
    ({"color": "x"}, "'data.augment.color' must be a number"),
])
def test_bad_augment_settings_name_the_key(tmp_path, override, match):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("name: t\n")
    sets = [f"data.augment.{k}={v}" for k, v in override.items()]
    with pytest.raises(ConfigError, match=match):
        load_config(str(cfg), overrides=sets)


def test_the_distractor_never_comes_from_the_target_video(real_otb_root):
    from loretrack_plugin.data.readers import StillFrames
    one = OtbFolder(real_otb_root, sequences=["Biker"])
    sampler = PairSampler([one, StillFrames(one)], None, _proc(aug.Augment(distractor_prob=1.0)), 20, seed=7)
    assert all(sampler._pick_distractor(np.random.default_rng(i), "Biker") is None for i in range(10))
    assert all(sampler._pick_distractor(np.random.default_rng(i), "Biker#3") is None for i in range(10))
    two = OtbFolder(real_otb_root, sequences=["Biker", "vot15_bag"])
    sampler = PairSampler([two], None, _proc(aug.Augment(distractor_prob=1.0)), 20, seed=7)
    frame, box = sampler._pick_distractor(np.random.default_rng(0), "Biker")
    assert frame.ndim == 3 and box.shape == (4,) and (box[2:] > 0).all()
