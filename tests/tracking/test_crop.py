"""The shared crop against a pixel-by-pixel reference, with boxes inside, across and wholly outside the frame."""
import itertools

import cv2
import numpy as np
import pytest

from loretrack_plugin.tracking.crop import crop_side, sample_target

H, W = 60, 80
# (factor, output side) of the template and search crops of the shipped trackers' loop
CROPS = {"template": (2.0, 32), "search": (4.0, 64)}
# every side and every corner: the unit step (dx, dy) that moves a box off the frame
DIRECTIONS = [d for d in itertools.product((-1, 0, 1), repeat=2) if d != (0, 0)]


def _frame(channels=3):
    shape = (H, W) if channels is None else (H, W, channels)
    # no zero pixel, so that padding is told from content by value alone
    return np.random.default_rng(0).integers(1, 256, shape, dtype=np.uint8)


def reference_crop(image, box, factor):
    """The unresized crop built pixel by pixel: crop pixel (i, j) is image pixel (y1 + i, x1 + j) when
    that lies in the frame less its last row and column (padded whenever a crop reaches them), else 0."""
    side = crop_side(box, factor)
    x, y, w, h = box
    x1, y1 = round(x + 0.5 * w - side * 0.5), round(y + 0.5 * h - side * 0.5)
    patch = np.zeros((side, side) + image.shape[2:], image.dtype)
    pad = np.ones((side, side), bool)
    for i in range(side):
        for j in range(side):
            r, c = y1 + i, x1 + j
            if 0 <= r < image.shape[0] - 1 and 0 <= c < image.shape[1] - 1:
                patch[i, j], pad[i, j] = image[r, c], False
    return patch, pad


def outside_box(direction, factor, gap, size=8.0):
    """A ``size`` px square box whose crop lies ``gap`` px beyond the frame in ``direction``
    (gap 0: the crop ends at the frame's first row/column, or starts on its last one)."""
    half = crop_side((0, 0, size, size), factor) / 2
    centre = []
    for d, n in zip(direction, (W, H)):
        if d < 0:
            centre.append(-half - gap)
        elif d > 0:
            centre.append(n - 1 + half + gap)
        else:
            centre.append(n / 2)
    return [centre[0] - size / 2, centre[1] - size / 2, size, size]


@pytest.mark.parametrize("kind", sorted(CROPS))
@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("gap", [0, 1, 37, 5000])
def test_crop_wholly_outside_the_frame_is_all_padding(kind, direction, gap):
    factor, out = CROPS[kind]
    frame = _frame()
    box = outside_box(direction, factor, gap)
    side = crop_side(box, factor)
    patch, rf, pad = sample_target(frame, box, factor, out)
    assert patch.shape == (out, out, 3) and patch.dtype == np.uint8 and not patch.any()
    assert pad.shape == (out, out) and pad.dtype == bool and pad.all()
    assert rf == out / side
    patch, rf, pad = sample_target(frame, box, factor)
    assert patch.shape == (side, side, 3) and not patch.any() and pad.shape == (side, side) and pad.all()
    assert rf == 1.0
    # the reference agrees that no image pixel is in the crop
    assert reference_crop(frame, box, factor)[1].all()


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_crop_wholly_outside_a_grey_frame_keeps_its_shape(direction):
    frame = _frame(channels=None)
    patch, _, pad = sample_target(frame, outside_box(direction, 4.0, 3), 4.0, 64)
    assert patch.shape == (64, 64) and not patch.any() and pad.all()


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_crop_with_one_usable_pixel_keeps_it(direction):
    """One step back towards the frame from the first all-padding position: exactly one row or column
    (a corner: one pixel) of the image is in the crop, and it is the reference's."""
    frame = _frame()
    box = outside_box(direction, 4.0, -1)
    want, want_pad = reference_crop(frame, box, 4.0)
    patch, _, pad = sample_target(frame, box, 4.0)
    assert not pad.all() and np.array_equal(pad, want_pad) and np.array_equal(patch, want)


def test_every_box_on_a_grid_around_the_frame_matches_the_reference():
    """Inside, across every border and wholly outside: the unresized crop and its padding mask are the
    reference's, and the resized crop is ``cv2.resize`` of it (INTER_LINEAR)."""
    frame = _frame()
    checked = {"inside": 0, "across": 0, "outside": 0}
    for x, y, (w, h) in itertools.product(range(-60, W + 40, 13), range(-50, H + 40, 11), [(6, 9), (13.5, 4)]):
        box = [x + 0.25, y + 0.5, w, h]
        want, want_pad = reference_crop(frame, box, 4.0)
        patch, _, pad = sample_target(frame, box, 4.0)
        assert np.array_equal(pad, want_pad) and np.array_equal(patch, want), box
        resized, rf, rpad = sample_target(frame, box, 4.0, 64)
        assert np.array_equal(resized, cv2.resize(want, (64, 64))), box
        assert np.array_equal(rpad, cv2.resize(want_pad.astype(np.float64), (64, 64)).astype(bool)), box
        checked["outside" if want_pad.all() else "inside" if not want_pad.any() else "across"] += 1
    assert min(checked.values()) > 0, checked
