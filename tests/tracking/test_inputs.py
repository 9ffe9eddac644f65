"""Frame conversion, init-box validation, normalisation, OTB sequence reading."""
import os

import numpy as np
import pytest
import torch
from PIL import Image

from loretrack_plugin.tracking.inputs import check_init_box, normalise_patch, to_rgb_uint8
from loretrack_plugin.formats import list_otb_sequences, load_otb_sequence, read_boxes


def test_rgb_passes_through():
    a = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    assert np.array_equal(to_rgb_uint8(a), a)


def test_grayscale_rgba_and_16bit_are_converted():
    g = np.arange(12, dtype=np.uint8).reshape(3, 4)
    out = to_rgb_uint8(g)
    assert out.shape == (3, 4, 3) and np.array_equal(out[:, :, 2], g) and np.array_equal(out[:, :, 0], g)
    assert np.array_equal(to_rgb_uint8(g[:, :, None]), out)
    rgba = np.dstack([out, np.full((3, 4), 7, np.uint8)])
    assert np.array_equal(to_rgb_uint8(rgba), out)
    # 16 bit: x / 257 rounded, so 65535 -> 255, 257 -> 1, 128 -> 0, 129 -> 1
    w = np.array([[0, 128, 129, 257, 65535]], dtype=np.uint16)
    assert to_rgb_uint8(w)[0, :, 1].tolist() == [0, 0, 1, 1, 255]
    assert to_rgb_uint8(np.dstack([w, w, w, w]))[0, :, 0].tolist() == [0, 0, 1, 1, 255]


def test_pil_images_of_any_mode():
    rgb = np.random.default_rng(1).integers(0, 256, (6, 5, 3), dtype=np.uint8)
    assert np.array_equal(to_rgb_uint8(Image.fromarray(rgb)), rgb)
    assert np.array_equal(to_rgb_uint8(Image.fromarray(rgb).convert("RGBA")), rgb)
    gray = to_rgb_uint8(Image.fromarray(rgb).convert("L"))
    assert gray.shape == (6, 5, 3) and np.array_equal(gray[:, :, 0], gray[:, :, 1])
    i16 = Image.fromarray(np.array([[65535, 257]], dtype=np.uint16))
    assert to_rgb_uint8(i16)[0, :, 0].tolist() == [255, 1]
    pal = Image.fromarray(rgb).convert("P")
    assert to_rgb_uint8(pal).shape == (6, 5, 3)


@pytest.mark.parametrize("bad,msg", [
    (np.zeros((4, 4, 3), np.float32), "float32"),
    (np.zeros((4, 4, 2), np.uint8), "shape"),
    (np.zeros((0, 4, 3), np.uint8), "empty"),
])
def test_unsupported_frames_raise(bad, msg):
    with pytest.raises(ValueError, match=msg):
        to_rgb_uint8(bad)


@pytest.mark.parametrize("box,msg", [
    ([10, 10, 0, 20], "positive"),
    ([10, 10, 20, -5], "positive"),
    ([10, float("nan"), 20, 20], "NaN"),
    ([10, 10, float("inf"), 20], "NaN or infinity"),
    ([200, 10, 20, 20], "outside"),
    ([-30, 10, 20, 20], "outside"),
    ([10, 10, 20], "4 numbers"),
    (["a", 1, 2, 3], "4 numbers"),
])
def test_bad_init_boxes(box, msg):
    with pytest.raises(ValueError, match=msg):
        check_init_box(box, 100, 160)


def test_partly_outside_box_is_accepted():
    assert check_init_box(np.array([-5, 90, 20, 20]), 100, 160) == [-5.0, 90.0, 20.0, 20.0]


def test_normalise_patch_imagenet():
    patch = np.zeros((2, 2, 3), np.uint8)
    patch[0, 0] = 255
    t = normalise_patch(patch)
    assert t.shape == (1, 3, 2, 2) and t.dtype == torch.float32
    # (1 - 0.485) / 0.229, (0 - 0.456) / 0.224, (0 - 0.406) / 0.225
    assert float(t[0, 0, 0, 0]) == pytest.approx(2.248908, abs=1e-5)
    assert float(t[0, 1, 1, 1]) == pytest.approx(-2.035714, abs=1e-5)
    assert float(t[0, 2, 0, 1]) == pytest.approx(-1.804444, abs=1e-5)


def test_read_boxes_any_separator(tmp_path):
    p = tmp_path / "gt.txt"
    p.write_text("1,2,3,4\n5\t6\t7\t8\n\n9 10 11 12.5\n")
    assert read_boxes(str(p)).tolist() == [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12.5]]
    p.write_text("1,2,3\n")
    with pytest.raises(ValueError, match="gt.txt:1"):
        read_boxes(str(p))


def test_real_otb_layout(real_otb_root):
    seqs = list_otb_sequences(real_otb_root)
    assert [os.path.basename(s) for s in seqs] == ["Biker", "Crossing", "MountainBike6", "vot15_bag"]
    frames, gt = load_otb_sequence(seqs[0])
    assert len(frames) == len(gt) > 10 and gt.shape[1] == 4
    with pytest.raises(FileNotFoundError):
        list_otb_sequences(str(real_otb_root) + "/does-not-exist")
