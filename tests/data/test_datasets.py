"""Dataset readers on synthetic data in the real layouts, on the real OTB-layout sequences, and on
tiny hand-written layouts (COCO, multi-annotation OTB, index split files)."""
import json
import os

import cv2
import numpy as np
import pytest

from loretrack_plugin.data import (Coco, CorruptImageError, Got10k, Lasot, OtbFolder, TrackingNet, build_dataset,
                                   read_boxes, read_rgb)
from loretrack_plugin.data.readers import SPLIT_DIR, read_split_file


def _write_jpg(path, img):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    assert cv2.imwrite(path, img)


# ---- shipped split files ---------------------------------------------------------------------------
def test_shipped_lasot_split_matches_got10k_toolkit_list():
    import got10k
    with open(os.path.join(os.path.dirname(got10k.__file__), "datasets", "lasot.json")) as f:
        ref = json.load(f)
    assert read_split_file(os.path.join(SPLIT_DIR, "lasot_train.txt")) == ref["train"]
    assert read_split_file(os.path.join(SPLIT_DIR, "lasot_test.txt")) == ref["test"]
    assert len(ref["train"]) == 1120


def test_shipped_got10k_vot_splits_are_disjoint_index_lists():
    train = [int(s) for s in read_split_file(os.path.join(SPLIT_DIR, "got10k_vot_train.txt"))]
    val = [int(s) for s in read_split_file(os.path.join(SPLIT_DIR, "got10k_vot_val.txt"))]
    assert (len(train), len(set(train))) == (7086, 7086)
    assert (len(val), len(set(val))) == (1249, 1249)
    assert not set(train) & set(val)
    assert min(train + val) >= 0 and max(train + val) < 9335  # GOT-10k has 9335 training sequences


# ---- synthetic layouts -------------------------------------------------------------------------------
def test_got10k_reader_boxes_and_visibility(synthetic_roots):
    ds = Got10k(synthetic_roots["got10k"], split="train")
    assert len(ds) == 2 and ds.sequence_name(0) == "GOT-10k_Train_000001"
    d = os.path.join(synthetic_roots["got10k"], "train", ds.sequence_name(1))
    info = ds.sequence_info(1)
    np.testing.assert_allclose(info.bbox, np.loadtxt(os.path.join(d, "groundtruth.txt"), delimiter=","))
    absent = np.loadtxt(os.path.join(d, "absence.label")).astype(bool)
    cover = np.loadtxt(os.path.join(d, "cover.label"))
    np.testing.assert_array_equal(info.visible, ~absent & (cover > 0) & info.valid)
    img = ds.frame(1, 5)
    assert img.shape == (120, 160, 3) and img.dtype == np.uint8
    ref = cv2.imread(os.path.join(d, "00000006.jpg"))[:, :, ::-1]
    np.testing.assert_array_equal(img, ref)


def test_lasot_reader_uses_train_split_and_flags(synthetic_roots, caplog):
    ds = Lasot(synthetic_roots["lasot"], split="train")
    assert len(ds) == 2
    name = ds.sequence_name(0)
    d = os.path.join(synthetic_roots["lasot"], name.rsplit("-", 1)[0], name)
    info = ds.sequence_info(0)
    gt = np.loadtxt(os.path.join(d, "groundtruth.txt"), delimiter=",")
    np.testing.assert_allclose(info.bbox, gt)
    occ = np.loadtxt(os.path.join(d, "full_occlusion.txt"), delimiter=",").astype(bool)
    oov = np.loadtxt(os.path.join(d, "out_of_view.txt"), delimiter=",").astype(bool)
    np.testing.assert_array_equal(info.visible, ~occ & ~oov & (gt[:, 2] > 0) & (gt[:, 3] > 0))
    assert ds.frame_path(0, 0).endswith(os.path.join(name, "img", "00000001.jpg"))
    # the test split of this folder is empty: every listed sequence is missing
    with pytest.raises(ValueError, match="no sequences"):
        Lasot(synthetic_roots["lasot"], split="test")


def test_trackingnet_reader(synthetic_roots):
    ds = TrackingNet(synthetic_roots["trackingnet"])
    assert len(ds) == 2
    seq = ds.sequence_name(0)
    gt = np.loadtxt(os.path.join(synthetic_roots["trackingnet"], "TRAIN_0", "anno", seq + ".txt"), delimiter=",")
    np.testing.assert_allclose(ds.sequence_info(0).bbox, gt)
    assert ds.frame_path(0, 0).endswith(os.path.join("TRAIN_0", "frames", seq, "0.jpg"))
    assert ds.frame(0, 23).shape == (120, 160, 3)
    with pytest.raises(FileNotFoundError, match="TRAIN_3"):
        TrackingNet(synthetic_roots["trackingnet"], chunks=[0, 3])


def test_otb_reader_on_synthetic_and_build_dataset(synthetic_roots):
    ds = build_dataset({"type": "otb", "root": synthetic_roots["otb"]})
    assert isinstance(ds, OtbFolder) and len(ds) == 2
    assert len(ds.sequence_info(1)) == 24


# ---- real frames ---------------------------------------------------------------------------------------
def test_otb_reader_on_real_sequences(real_otb_root):
    ds = OtbFolder(real_otb_root)
    assert len(ds) == 4
    i = ds._names.index("Biker")
    with open(os.path.join(real_otb_root, "Biker", "meta.json")) as f:
        meta = json.load(f)
    info = ds.sequence_info(i)
    assert len(info) == meta["n_frames"] == 142
    scale = meta["sample_scale"]  # the shipped sample is down-scaled from the 640x360 original
    np.testing.assert_allclose(info.bbox[0], np.array([262, 94, 16, 26]) * scale, atol=1e-3)
    assert info.visible.all()
    w, h = meta["resolutions"][0]
    assert ds.frame(i, 141).shape == (round(h * scale), round(w * scale), 3)
    sel = OtbFolder(real_otb_root, sequences=["vot15_bag", "Biker"])
    assert sel._names == ["Biker", "vot15_bag"]
    with pytest.raises(ValueError, match="NoSuchSeq"):
        OtbFolder(real_otb_root, sequences=["NoSuchSeq"])


# ---- hand-written layouts ------------------------------------------------------------------------------
def test_coco_reader_skips_crowd_and_reads_both_image_folders(tmp_path):
    img = np.zeros((40, 60, 3), np.uint8)
    img[10:20, 5:25] = (0, 0, 255)  # red in BGR
    _write_jpg(str(tmp_path / "images" / "train2017" / "a.jpg"), img)
    _write_jpg(str(tmp_path / "images" / "train2017" / "b.jpg"), img)
    anno = {"images": [{"id": 1, "file_name": "a.jpg"}, {"id": 2, "file_name": "b.jpg"}],
            "annotations": [{"id": 7, "image_id": 1, "bbox": [5, 10, 20, 10], "iscrowd": 0},
                            {"id": 8, "image_id": 2, "bbox": [1, 1, 3, 3], "iscrowd": 1},
                            {"id": 9, "image_id": 2, "bbox": [2.5, 3.5, 4, 0], "iscrowd": 0}]}
    os.makedirs(tmp_path / "annotations")
    (tmp_path / "annotations" / "instances_train2017.json").write_text(json.dumps(anno))
    ds = Coco(str(tmp_path))
    assert not ds.is_video and len(ds) == 2 and [ds.sequence_name(i) for i in range(2)] == ["7", "9"]
    info = ds.sequence_info(0)
    np.testing.assert_allclose(info.bbox, [[5, 10, 20, 10]])
    assert info.valid.tolist() == [True] and ds.sequence_info(1).valid.tolist() == [False]  # h = 0
    frame = ds.frame(0, 0)
    assert frame.shape == (40, 60, 3) and frame[15, 10, 0] > 200  # RGB order: red channel first


def test_otb_multiple_annotation_files_and_separators(tmp_path):
    for i in range(3):
        _write_jpg(str(tmp_path / "Jogging" / "img" / f"{i + 1:04d}.jpg"), np.full((20, 30, 3), 100, np.uint8))
    (tmp_path / "Jogging" / "groundtruth_rect.1.txt").write_text("1\t2\t3\t4\n1\t2\t3\t4\n5\t6\t7\t8\n")
    (tmp_path / "Jogging" / "groundtruth_rect.2.txt").write_text("1 2 3 4\n1,2,3,4\nNaN,NaN,NaN,NaN\n")
    ds = OtbFolder(str(tmp_path))
    assert ds._names == ["Jogging.1", "Jogging.2"]
    np.testing.assert_allclose(ds.sequence_info(0).bbox[2], [5, 6, 7, 8])
    assert ds.sequence_info(1).valid.tolist() == [True, True, False]


def test_got10k_index_split_file_and_incomplete_training_set(tmp_path):
    root = tmp_path / "GOT-10k"
    names = [f"GOT-10k_Train_{i:06d}" for i in (1, 2, 3)]
    for n in names:
        _write_jpg(str(root / "train" / n / "00000001.jpg"), np.zeros((8, 8, 3), np.uint8))
        (root / "train" / n / "groundtruth.txt").write_text("1,1,2,2\n")
    (root / "train" / "list.txt").write_text("\n".join(names) + "\n")
    split = tmp_path / "my_split.txt"
    split.write_text("2\n0\n")
    ds = Got10k(str(root), split=str(split))
    assert [ds.sequence_name(i) for i in range(len(ds))] == [names[2], names[0]]
    assert Got10k(str(root / "train"), split="train")._names == names  # root may be the split folder
    with pytest.raises(ValueError, match="complete GOT-10k training set"):
        Got10k(str(root), split="vot-train")


# ---- bad input -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["lasot", "got10k", "trackingnet", "coco", "otb"])
def test_missing_root_is_a_clear_error(tmp_path, kind):
    missing = str(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="nowhere"):
        build_dataset({"type": kind, "root": missing})


def test_bad_dataset_spec():
    with pytest.raises(ValueError, match="dataset type"):
        build_dataset({"type": "imagenet", "root": "."})
    with pytest.raises(ValueError, match="bad options"):
        build_dataset({"type": "otb", "root": ".", "colour": "red"})


def test_corrupt_and_missing_images(tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8 this is not a jpeg")
    with pytest.raises(CorruptImageError, match="bad.jpg"):
        read_rgb(str(bad))
    with pytest.raises(CorruptImageError, match="gone.jpg .No such file or directory"):
        read_rgb(str(tmp_path / "gone.jpg"))


def test_box_file_errors(tmp_path):
    p = tmp_path / "gt.txt"
    p.write_text("1,2,3\n")
    with pytest.raises(ValueError, match="gt.txt:1: expected 4 numbers per line"):
        read_boxes(str(p))
    p.write_text("1,2,3,x\n")
    with pytest.raises(ValueError, match="not a box file"):
        read_boxes(str(p))
