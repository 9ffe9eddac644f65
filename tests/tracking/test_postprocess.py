"""Hann window, peak decoding, map-back and clipping against values computed by hand."""
import math

import pytest
import torch

from loretrack_plugin.tracking.postprocess import (clip_box, crop_box_to_pixels, decode_at, hann1d, hann2d,
                                                   map_box_back, peak_cell)


def test_hann1d_uses_n_plus_one_and_is_never_zero():
    # n = 3: 0.5 * (1 - cos(2*pi*k/4)) for k = 1, 2, 3 = 0.5, 1, 0.5
    assert hann1d(3).tolist() == pytest.approx([0.5, 1.0, 0.5], abs=1e-7)
    # n = 6: cos(2pi/7) = 0.623490, cos(4pi/7) = -0.222521, cos(6pi/7) = -0.900969
    assert hann1d(6).tolist() == pytest.approx([0.188255, 0.611260, 0.950484, 0.950484, 0.611260, 0.188255],
                                               abs=1e-6)
    w16 = hann1d(16)
    assert float(w16[0]) == pytest.approx(0.033764, abs=1e-6)   # 0.5 * (1 - 0.932472)
    assert float(w16[7]) == pytest.approx(0.991487, abs=1e-6)   # 0.5 * (1 + 0.982973)
    assert hann1d(1).tolist() == pytest.approx([1.0])
    assert hann1d(16).dtype == torch.float32


def test_hann2d_is_the_outer_product():
    w = hann2d(3)
    assert w.shape == (1, 1, 3, 3)
    assert w.flatten().tolist() == pytest.approx([0.25, 0.5, 0.25, 0.5, 1.0, 0.5, 0.25, 0.5, 0.25])
    with pytest.raises(ValueError):
        hann1d(0)


def test_window_is_multiplied_before_the_peak_is_taken():
    score = torch.zeros(1, 1, 3, 3)
    score[0, 0, 0, 0] = 0.9   # 0.9 * 0.25 = 0.225 after the window
    score[0, 0, 1, 1] = 0.5   # 0.5 * 1.0  = 0.5
    assert peak_cell(score) == (0, 0)
    assert peak_cell(hann2d(3) * score) == (1, 1)
    tie = torch.zeros(1, 1, 3, 3)
    tie[0, 0, 1, 2] = tie[0, 0, 2, 0] = 1.0
    assert peak_cell(tie) == (1, 2)  # first in row-major order


def test_decode_at_a_cell():
    F = 4
    size = torch.zeros(1, 2, F, F)
    offset = torch.zeros(1, 2, F, F)
    size[0, :, 2, 1] = torch.tensor([0.3, 0.2])
    offset[0, :, 2, 1] = torch.tensor([0.25, 0.5])   # channel 0 = x, channel 1 = y
    box = decode_at((2, 1), size, offset)
    # cx = (ix + off_x) / F = 1.25 / 4, cy = (iy + off_y) / F = 2.5 / 4
    assert box.tolist() == pytest.approx([0.3125, 0.625, 0.3, 0.2])


def test_crop_box_to_pixels_and_map_back():
    # search 128 px from a 300 px crop: resize_factor = 128 / 300, so normalised * 300 = pixels
    rf = 128 / 300
    px = crop_box_to_pixels(torch.tensor([0.5, 0.5, 0.25, 0.125]), 128, rf)
    assert px == pytest.approx([150.0, 150.0, 75.0, 37.5], abs=1e-4)
    prev = [100.0, 50.0, 40.0, 20.0]  # centre (120, 60)
    # a box at the crop centre stays at the previous centre: cx = 150 + (120 - 150)
    assert map_box_back([150.0, 150.0, 75.0, 37.5], prev, 128, rf) == pytest.approx([82.5, 41.25, 75.0, 37.5])
    # 10 px right and 10 px up of the crop centre
    assert map_box_back([160.0, 140.0, 30.0, 20.0], prev, 128, rf) == pytest.approx([115.0, 40.0, 30.0, 20.0])


@pytest.mark.parametrize("box,expected", [
    ((-5, -5, 20, 20), [0, 0, 15, 15]),          # cut at the top-left corner
    ((120, 30, 20, 10), [90, 30, 10, 10]),       # right of the frame: kept 10 px inside
    ((-50, -50, 20, 20), [0, 0, 10, 10]),        # above-left: the minimum 10 px box at the corner
    ((50, 50, 2, 3), [50, 50, 10, 10]),          # tiny boxes grow to the margin
    ((-10, -10, 200, 200), [0, 0, 100, 80]),     # larger than the frame
    ((20.5, 10.25, 30, 40), [20.5, 10.25, 30, 40]),  # inside: unchanged
])
def test_clip_box_margin_10(box, expected):
    assert clip_box(box, 80, 100, margin=10) == pytest.approx(expected)


def test_clip_box_keeps_float_precision():
    out = clip_box([1.0 / 3, 2.0 / 3, 50.123456789, 20.0], 480, 640, 10)
    assert out[2] == 50.123456789 and out[0] == 1.0 / 3
    assert math.isclose(out[0] + out[2], 1.0 / 3 + 50.123456789)
