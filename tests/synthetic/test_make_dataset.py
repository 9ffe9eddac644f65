"""Synthetic benchmarks: exact layouts (read back by got10k, the VOT toolkit and our readers), content, seeds."""
import glob
import os

import cv2
import numpy as np
import pytest

from loretrack_plugin.cli import main
from loretrack_plugin.synthetic import make_dataset, render_sequence
from loretrack_plugin.formats.sequence_names import lasot_names, otb_plain_names

SIZE = (96, 72)


def _read(path):
    return open(path).read().strip().splitlines()


def test_lasot_layout_and_absence(tmp_path):
    info = make_dataset("lasot", tmp_path, sequences=3, frames=24, seed=0, image_size=SIZE)
    names = info["splits"]["test"]
    assert set(names) <= set(lasot_names("test")) and len({n.split("-")[0] for n in names}) == 3
    assert _read(tmp_path / "testing_set.txt") == names
    for n in names:
        d = tmp_path / n.rsplit("-", 1)[0] / n
        imgs = sorted(glob.glob(str(d / "img" / "*.jpg")))
        assert [os.path.basename(p) for p in imgs] == ["%08d.jpg" % (i + 1) for i in range(24)]
        assert cv2.imread(imgs[0]).shape == (SIZE[1], SIZE[0], 3)
        gt = np.loadtxt(d / "groundtruth.txt", delimiter=",")
        occ = np.array(_read(d / "full_occlusion.txt")[0].split(","), int)
        oov = np.array(_read(d / "out_of_view.txt")[0].split(","), int)
        assert gt.shape == (24, 4) and len(occ) == len(oov) == 24
        absent = (occ | oov).astype(bool)
        assert absent.any() and not absent[0]                            # one absent span, never at init
        np.testing.assert_array_equal(np.all(gt == 0, axis=1), absent)   # absent rows are exactly 0,0,0,0
        vis = gt[~absent]
        assert (vis[:, 2:] > 0).all() and (vis[:, 0] >= 0).all() and (vis[:, 0] + vis[:, 2] <= SIZE[0]).all()
        assert (vis[:, 1] + vis[:, 3] <= SIZE[1]).all()
        assert (d / "nlp.txt").read_text().strip()


def test_got10k_layout_read_by_got10k(tmp_path):
    from got10k.datasets import GOT10k
    info = make_dataset("got10k", tmp_path, sequences=2, frames=20, seed=0, image_size=SIZE)
    assert list(info["splits"]) == ["train", "val", "test"]
    val = GOT10k(str(tmp_path), subset="val", return_meta=True)
    assert val.seq_names == ["GOT-10k_Val_000001", "GOT-10k_Val_000002"]
    for i in range(len(val)):
        img_files, anno, meta = val[i]
        assert len(img_files) == len(anno) == 20
        assert meta["resolution"] == f"({SIZE[0]}, {SIZE[1]})"
        assert ((meta["cover"] == 0) == (meta["absence"] == 1)).all()
        assert meta["cover"].max() <= 8 and (anno[:, 2:] > 0).all()
    assert any((val[i][2]["cover"] == 0).any() for i in range(len(val)))
    test = GOT10k(str(tmp_path), subset="test")
    img_files, anno = test[0]
    assert anno.shape == (1, 4) and len(img_files) == 20
    assert not os.path.exists(tmp_path / "test" / test.seq_names[0] / "meta_info.ini")
    assert len(_read(tmp_path / "train" / "list.txt")) == 2


def test_otb_layout_read_by_got10k(tmp_path):
    from got10k.datasets import OTB
    info = make_dataset("otb", tmp_path, sequences=3, frames=20, seed=0, image_size=SIZE)
    assert info["splits"]["test"] == otb_plain_names()[:3]
    ds = OTB(str(tmp_path), 2015, download=False)
    assert sorted(ds.seq_names) == sorted(info["splits"]["test"])
    for i in range(len(ds)):
        img_files, anno = ds[i]
        assert len(img_files) == len(anno) == 20 and os.path.basename(img_files[0]) == "0001.jpg"


def test_vot_layout_read_by_vot_toolkit(tmp_path):
    from vot.dataset import load_sequence
    root = tmp_path / "sequences"
    info = make_dataset("vot", root, sequences=2, frames=20, seed=0, image_size=SIZE)
    assert _read(root / "list.txt") == info["splits"]["test"]
    seq = load_sequence(str(root / info["splits"]["test"][0]))
    assert (len(seq), seq.width, seq.height) == (20, SIZE[0], SIZE[1])
    assert seq.frame(5).image().shape == (SIZE[1], SIZE[0], 3)
    gt = np.loadtxt(root / info["splits"]["test"][0] / "groundtruth.txt", delimiter=",")
    b = seq.groundtruth(3).bounds()  # (x0, y0, x1, y1)
    np.testing.assert_allclose([b[0], b[1], b[2] - b[0], b[3] - b[1]], gt[3], atol=1e-6)
    assert "occlusion" in seq.tags() and "anchor" in seq.values()


def test_trackingnet_layout(tmp_path):
    from loretrack_plugin.evaluation.benchmark_readers import TrackingNetTest
    info = make_dataset("trackingnet", tmp_path, sequences=2, frames=12, seed=0, image_size=SIZE)
    ds = TrackingNetTest(str(tmp_path))
    assert sorted(ds.seq_names) == sorted(info["splits"]["test"])
    img_files, anno = ds[0]
    assert [os.path.basename(p) for p in img_files] == [f"{i}.jpg" for i in range(12)] and anno.shape == (1, 4)
    assert len(_read(tmp_path / "TEST" / "anno" / f"{ds.seq_names[0]}.txt")) == 1


def test_same_seed_same_data_other_seed_differs(tmp_path):
    a = make_dataset("otb", tmp_path / "a", 1, 12, seed=3, image_size=SIZE)["splits"]["test"][0]
    make_dataset("otb", tmp_path / "b", 1, 12, seed=3, image_size=SIZE)
    make_dataset("otb", tmp_path / "c", 1, 12, seed=4, image_size=SIZE)
    gt = {k: (tmp_path / k / a / "groundtruth_rect.txt").read_text() for k in "abc"}
    img = {k: (tmp_path / k / a / "img" / "0007.jpg").read_bytes() for k in "abc"}
    assert gt["a"] == gt["b"] and img["a"] == img["b"]
    assert gt["a"] != gt["c"] and img["a"] != img["c"]
    # regenerating replaces the sequence in place and leaves no temporary folder
    make_dataset("otb", tmp_path / "a", 1, 12, seed=4, image_size=SIZE)
    assert (tmp_path / "a" / a / "groundtruth_rect.txt").read_text() == gt["c"]
    assert not glob.glob(str(tmp_path / "a" / ".*"))


def test_rendered_sequence_moves_scales_and_shows_a_textured_target():
    seq = render_sequence(np.random.default_rng(7), 40, size=(160, 120))
    assert len(seq.frames) == 40 and seq.frames[0].shape == (120, 160, 3)
    b = seq.boxes[seq.visible]
    centres = b[:, :2] + b[:, 2:] / 2
    assert np.linalg.norm(centres[-1] - centres[0]) > 5 or np.ptp(centres, axis=0).max() > 10
    area, aspect = b[:, 2] * b[:, 3], b[:, 2] / b[:, 3]
    assert area.max() / area.min() > 1.1 and aspect.max() / aspect.min() > 1.05
    assert (~seq.visible).sum() >= 3 and (seq.full_occlusion | seq.out_of_view)[~seq.visible].all()
    # the target is saturated and textured, the background muted: inside the box differs from the frame
    f = seq.frames[0].astype(float)
    x, y, w, h = seq.boxes[0].astype(int)
    inside = f[y:y + h, x:x + w]
    assert inside.std() > 5 and np.abs(inside.mean((0, 1)) - f.mean((0, 1))).max() > 5


def test_bad_arguments(tmp_path, capsys):
    with pytest.raises(ValueError, match="unknown layout"):
        make_dataset("coco", tmp_path)
    with pytest.raises(ValueError, match="splits"):
        make_dataset("otb", tmp_path, splits="train")
    with pytest.raises(ValueError, match="at least"):
        make_dataset("lasot", tmp_path, sequences=0)
    rc = main(["make-dataset", "--layout", "got10k", "--out", str(tmp_path / "g"), "--splits", "nope"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "nope" in err[0]
    assert main(["make-dataset", "--layout", "lasot", "--out", str(tmp_path / "l"), "--sequences", "1",
                 "--frames", "5", "--size", "64x48", "--splits", "ext"]) == 0
    assert (tmp_path / "l" / "atv" / "atv-1" / "img" / "00000005.jpg").is_file()
