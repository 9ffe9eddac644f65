"""Pair processing and labels against hand-computed values."""
import math

import numpy as np
import pytest
import torch

from loretrack_plugin.data import CropSpec, PairProcessing, gaussian_heatmap, gaussian_radius
from loretrack_plugin.data.processing import IMAGENET_MEAN, IMAGENET_STD, hflip_box_pixels, jitter_box
from loretrack_plugin.tracking.crop import box_to_crop, sample_target

MEAN = np.array(IMAGENET_MEAN, np.float32).reshape(3, 1, 1)
STD = np.array(IMAGENET_STD, np.float32).reshape(3, 1, 1)


def _frame(seed=0, h=120, w=160):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _plain(**kw):
    d = dict(train=False, grayscale_prob=0.0, flip_prob=0.0)
    d.update(kw)
    return PairProcessing(CropSpec(32, 2.0), CropSpec(64, 4.0), **d)


def test_no_jitter_crop_equals_tracking_crop():
    frame = _frame()
    box = np.array([60.0, 40.0, 20.0, 30.0])
    out = _plain()(np.random.default_rng(0), frame, box, frame, box)
    patch, rf, _ = sample_target(frame, box, 4.0, 64)
    np.testing.assert_allclose(out["search"], (patch.transpose(2, 0, 1) / 255.0 - MEAN) / STD, atol=1e-5)
    np.testing.assert_allclose(out["search_box"], box_to_crop(box, box, rf, 64), atol=1e-6)
    # centred box: side = ceil(sqrt(600) * 4) = 98 px, scale 64/98; centre at (64 - 1)/2 in the crop
    s = 64 / 98
    want = np.array([31.5 - 10 * s, 31.5 - 15 * s, 20 * s, 30 * s]) / 64
    np.testing.assert_allclose(out["search_box"], want, atol=1e-6)
    assert out["template"].shape == (3, 32, 32) and out["template"].dtype == np.float32


def test_joint_flip_equals_processing_the_mirrored_frame():
    frame = _frame(1)
    box = np.array([30.0, 50.0, 24.0, 16.0])
    flipped = _plain(flip_prob=1.0)(np.random.default_rng(0), frame, box, frame, box)
    mirrored = np.ascontiguousarray(frame[:, ::-1])
    mbox = hflip_box_pixels(box, frame.shape[1])
    np.testing.assert_allclose(mbox, [160 - 1 - 54, 50, 24, 16])
    ref = _plain()(np.random.default_rng(0), mirrored, mbox, mirrored, mbox)
    for k in ("template", "search", "template_box", "search_box"):
        np.testing.assert_allclose(flipped[k], ref[k], atol=1e-6)


def test_crop_flip_and_brightness_in_training_mode():
    frame = _frame(2)
    box = np.array([60.0, 40.0, 20.0, 30.0])
    ref = _plain()(np.random.default_rng(0), frame, box, frame, box)
    # brightness factor 1 exactly (jitter 0) and a certain per-crop flip
    out = _plain(train=True, brightness_jitter=0.0, crop_flip_prob=1.0)(np.random.default_rng(0), frame, box, frame,
                                                                         box)
    np.testing.assert_allclose(out["search"], ref["search"][:, :, ::-1], atol=1e-5)
    b = ref["search_box"]
    np.testing.assert_allclose(out["search_box"], [1 - b[0] - b[2], b[1], b[2], b[3]], atol=1e-6)
    # brightness: pixel values stay within [0, 1] before normalisation
    out = _plain(train=True, brightness_jitter=0.9, crop_flip_prob=0.0)(np.random.default_rng(5), frame, box, frame,
                                                                         box)
    raw = out["search"] * STD + MEAN
    assert raw.min() >= -1e-5 and raw.max() <= 1 + 1e-5


def test_grayscale():
    frame = _frame(3)
    box = np.array([60.0, 40.0, 20.0, 30.0])
    out = _plain(grayscale_prob=1.0)(np.random.default_rng(0), frame, box, frame, box)
    raw = out["search"] * STD + MEAN
    np.testing.assert_allclose(raw[0], raw[1], atol=1e-5)
    np.testing.assert_allclose(raw[1], raw[2], atol=1e-5)


def test_jitter_formula():
    spec = CropSpec(64, 4.0, center_jitter=3.0, scale_jitter=0.25)
    box = np.array([10.0, 20.0, 8.0, 18.0])
    ref = np.random.default_rng(11)
    n, u = ref.standard_normal(2), ref.random(2)  # the draws jitter_box makes, in its order
    rng = np.random.default_rng(11)
    wh = box[2:] * np.exp(n * 0.25)
    centre = box[:2] + box[2:] / 2 + math.sqrt(wh[0] * wh[1]) * 3.0 * (u - 0.5)
    np.testing.assert_allclose(jitter_box(box, spec, rng), np.concatenate([centre - wh / 2, wh]))
    np.testing.assert_allclose(jitter_box(box, CropSpec(64, 4.0), np.random.default_rng(0)), box)


def test_invalid_samples_are_rejected():
    frame = _frame(4)
    p = _plain()
    far = np.array([5000.0, 5000.0, 10.0, 10.0])  # crop entirely outside the image: all padding
    assert p(np.random.default_rng(0), frame, far, frame, far) is None
    zero = np.array([10.0, 10.0, 0.0, 5.0])
    assert p(np.random.default_rng(0), frame, zero, frame, zero) is None


def _beyond(direction, gap, h=120, w=160, size=10.0):
    """A ``size`` px box whose centre lies ``gap`` px beyond the (h, w) frame in ``direction``."""
    centre = [-gap if d < 0 else n - 1 + gap if d > 0 else n / 2 for d, n in zip(direction, (w, h))]
    return np.array([centre[0] - size / 2, centre[1] - size / 2, size, size])


@pytest.mark.parametrize("direction", [(-1, -1), (0, -1), (1, -1), (-1, 0), (1, 0), (-1, 1), (0, 1), (1, 1)])
@pytest.mark.parametrize("train", [False, True])
def test_crop_wholly_outside_on_any_side_rejects_the_sample(direction, train):
    """Template or search crop wholly outside the frame, on every side and at every corner (jittered
    boxes included): the sample is rejected, never an exception. At a gap of 21 px the unjittered search
    crop (side 40) misses the frame by 1 px; the jittered crops are 200 px away."""
    frame = _frame(4)
    inside = np.array([60.0, 40.0, 20.0, 30.0])
    jittered = PairProcessing(CropSpec(32, 2.0, 0.5, 0.05), CropSpec(64, 4.0, 1.0, 0.05), train=train)
    for p, gap in ((_plain(train=train), 21), (jittered, 200)):
        out_box = _beyond(direction, gap)
        for seed in range(4):
            assert p(np.random.default_rng(seed), frame, out_box, frame, inside) is None
            assert p(np.random.default_rng(seed), frame, inside, frame, out_box) is None
            assert p(np.random.default_rng(seed), frame, out_box, frame, out_box) is None
    # the same boxes a few pixels nearer: a valid sample, as before
    assert _plain(train=train)(np.random.default_rng(0), frame, inside, frame, _beyond(direction, 5)) is not None


# ---- labels ----------------------------------------------------------------------------------------------
def test_gaussian_radius_hand_computed():
    w = h = 4.0
    o = 0.7
    r1 = ((w + h) + math.sqrt((w + h) ** 2 - 4 * w * h * (1 - o) / (1 + o))) / 2
    r2 = (2 * (w + h) + math.sqrt(4 * (w + h) ** 2 - 16 * (1 - o) * w * h)) / 2
    r3 = (-2 * o * (w + h) + math.sqrt(4 * o * o * (w + h) ** 2 - 16 * o * (o - 1) * w * h)) / 2
    assert (round(r1, 3), round(r2, 3), round(r3, 3)) == (7.63, 14.693, 1.093)
    got = gaussian_radius(torch.tensor([w]), torch.tensor([h]))
    assert got.item() == pytest.approx(min(r1, r2, r3), rel=1e-6)


def test_gaussian_heatmap_values():
    F = 8
    # box 4x4 cells centred at (3.5 + 0.5, 2 + 0.5) -> peak cell (x=4, y=2) (round half to even: 2.5 -> 2)
    box = torch.tensor([[2.0 / F, 0.5 / F, 4.0 / F, 4.0 / F]])
    hm = gaussian_heatmap(box, F)[0]
    assert hm[2, 4] == 1.0 and (hm == 1.0).sum() == 1
    # radius 1 -> sigma 0.5: direct neighbours exp(-2), diagonals exp(-4), nothing further out
    assert hm[2, 5].item() == pytest.approx(math.exp(-2), rel=1e-6)
    assert hm[1, 4].item() == pytest.approx(math.exp(-2), rel=1e-6)
    assert hm[3, 3].item() == pytest.approx(math.exp(-4), rel=1e-6)
    assert (hm > 0).sum() == 9
    # a peak on the border is clipped, not wrapped
    corner = gaussian_heatmap(torch.tensor([[-2.0 / F, -2.0 / F, 4.0 / F, 4.0 / F]]), F)[0]
    assert corner[0, 0] == 1.0 and (corner > 0).sum() == 4
    # centre outside the grid: no positive at all
    assert gaussian_heatmap(torch.tensor([[1.2, 0.5, 0.1, 0.1]]), F).sum() == 0
