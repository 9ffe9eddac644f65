"""The one frame-order rule (frames by the number in their names) and the box rows readers accept:
the rule itself, every reader that lists frame folders, and training pairs on renamed frames."""
import os

import numpy as np
import pytest
import torch

from loretrack_plugin.data import CropSpec, OtbFolder, PairProcessing, PairSampler
from loretrack_plugin.evaluation.benchmark_readers import LaSOTDataset, OTBDirDataset, TrackingNetTest, otb_dataset
from loretrack_plugin.formats import frame_files, list_frames, load_otb_sequence, order_frames, read_boxes
from loretrack_plugin.synthetic import make_dataset

from .frame_names import renamed_copy


def _touch(folder, *names):
    os.makedirs(folder, exist_ok=True)
    for n in names:
        open(os.path.join(folder, n), "wb").close()
    return str(folder)


# ---- the rule ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("names, order", [
    (["10.jpg", "2.jpg", "1.jpg", "12.jpg"], ["1.jpg", "2.jpg", "10.jpg", "12.jpg"]),
    (["img0010.jpg", "img0002.jpg", "img0001.jpg"], ["img0001.jpg", "img0002.jpg", "img0010.jpg"]),
    (["frame_10.png", "frame_9.png"], ["frame_9.png", "frame_10.png"]),
    (["00010.jpg", "00009.jpg"], ["00009.jpg", "00010.jpg"]),
    (["cam2_0011.jpg", "cam2_0003.jpg"], ["cam2_0003.jpg", "cam2_0011.jpg"]),   # the last number counts
    (["still.jpg"], ["still.jpg"]),                                             # one frame needs no number
])
def test_frames_are_ordered_by_the_number_in_their_names(names, order):
    assert order_frames("seq/img", names) == order


@pytest.mark.parametrize("names, shown", [
    (["1.jpg", "01.jpg", "2.jpg"], ("01.jpg", "1.jpg", "both carry frame number 1")),
    (["0001.jpg", "0001.png"], ("0001.jpg", "0001.png", "both carry frame number 1")),
    (["0001.jpg", "cover.jpg", "0002.jpg"], ("cover.jpg", "0001.jpg", "cover.jpg carries no frame number")),
    (["b.jpg", "a.jpg"], ("a.jpg", "b.jpg", "a.jpg carries no frame number")),
])
def test_an_ambiguous_order_names_the_folder_and_two_files(names, shown):
    with pytest.raises(ValueError) as e:
        order_frames("seq/img", names)
    line = str(e.value)
    assert line.startswith("seq/img: frame order is ambiguous: ") and "\n" not in line
    assert all(s in line for s in shown), line


def test_list_frames_keeps_image_files_and_skips_hidden_ones(tmp_path):
    d = _touch(tmp_path / "img", "2.JPG", "10.png", "1.bmp", ".1.jpg", "notes.txt", "3.jpeg")
    assert [os.path.basename(p) for p in list_frames(d)] == ["1.bmp", "2.JPG", "3.jpeg", "10.png"]
    assert [os.path.basename(p) for p in list_frames(d, exts=(".jpg",))] == ["2.JPG"]


# ---- the readers -------------------------------------------------------------------------------------------
def test_otb_reader_pairs_frame_k_with_box_k_whatever_the_padding(tmp_path):
    d = _touch(tmp_path / "S" / "img", *[f"{k}.jpg" for k in range(1, 13)])
    (tmp_path / "S" / "groundtruth_rect.txt").write_text("".join(f"{k},0,5,5\n" for k in range(1, 13)))
    frames, boxes = load_otb_sequence(str(tmp_path / "S"))
    assert [os.path.basename(f) for f in frames] == [f"{k}.jpg" for k in range(1, 13)]
    assert frame_files(str(tmp_path / "S")) == frames and os.path.dirname(frames[0]) == d
    np.testing.assert_array_equal(boxes[:, 0], np.arange(1, 13))


def test_otb_training_reader_stops_on_an_ambiguous_folder_when_made(tmp_path):
    root = tmp_path / "data"
    _touch(root / "S" / "img", "1.jpg", "01.jpg")
    (root / "S" / "groundtruth_rect.txt").write_text("1,1,5,5\n2,2,5,5\n")
    with pytest.raises(ValueError, match=f"{root / 'S' / 'img'}: frame order is ambiguous: 01.jpg and 1.jpg"):
        OtbFolder(str(root))


@pytest.fixture(scope="module")
def otb_padded(tmp_path_factory):
    """Two OTB-layout sequences of 30 frames named 0001.jpg ... 0030.jpg."""
    root = str(tmp_path_factory.mktemp("padded") / "otb")
    make_dataset("otb", root, 2, 30, seed=4, image_size=(96, 72))
    return root


def test_otb_dir_frames_match_got10k_otb_on_its_own_naming(otb_padded):
    ours, theirs = OTBDirDataset(otb_padded), otb_dataset(otb_padded)
    assert ours.seq_names == theirs.seq_names
    for name in ours.seq_names:
        assert ours[name][0] == theirs[theirs.seq_names.index(name)][0]


def test_lasot_and_trackingnet_frame_lists_are_unchanged(tmp_path):
    lasot, tnet = str(tmp_path / "lasot"), str(tmp_path / "tnet")
    make_dataset("lasot", lasot, 1, 12, seed=1, image_size=(48, 36))
    make_dataset("trackingnet", tnet, 1, 12, seed=1, image_size=(48, 36))
    ds = LaSOTDataset(lasot)
    frames = ds[0][0]
    assert frames == sorted(frames) and len(frames) == 12
    assert [os.path.basename(f) for f in TrackingNetTest(tnet)[0][0]] == [f"{k}.jpg" for k in range(12)]


def _first_pairs(root, n=6):
    sampler = PairSampler([OtbFolder(root)], None, PairProcessing(CropSpec(32, 2.0), CropSpec(64, 4.0, 1.0, 0.1)),
                          n, max_gap=20, seed=7, min_length=20)
    return [sampler[i] for i in range(n)]


def test_training_pairs_are_the_same_on_unpadded_frame_names(otb_padded, tmp_path):
    unpadded = renamed_copy(otb_padded, str(tmp_path / "unpadded"))
    assert os.path.isfile(os.path.join(unpadded, os.listdir(unpadded)[0], "img", "30.jpg"))
    for a, b in zip(_first_pairs(otb_padded), _first_pairs(unpadded)):
        assert a["sample_id"] == b["sample_id"]
        for key, value in a.items():
            if isinstance(value, torch.Tensor):
                assert torch.equal(value, b[key]), (a["sample_id"], key)


# ---- box rows ------------------------------------------------------------------------------------------------
def test_polygon_rows_are_read_as_their_bounding_boxes(tmp_path):
    p = tmp_path / "groundtruth.txt"
    p.write_text("10,20,30,22,28,40,8,38\n1,1,5,1,5,4,1,4\nnan,nan,nan,nan,nan,nan,nan,nan\n")
    np.testing.assert_array_equal(read_boxes(str(p)), [[8, 20, 22, 20], [1, 1, 4, 3], [np.nan] * 4])


@pytest.mark.parametrize("text, line, message", [
    ("1,2,3,4\n\n1,2,5,2,5,8,1,8\n", 3, "8 numbers (a 4-corner polygon x1,y1,...,x4,y4) after rows of 4 from line 1"),
    ("# polygons\n1,2,5,2,5,8,1,8\n1,2,3,4\n", 3, "4 numbers (x,y,w,h) after rows of 8 from line 2"),
])
def test_a_file_mixing_boxes_and_polygons_names_the_line(tmp_path, text, line, message):
    p = tmp_path / "groundtruth.txt"
    p.write_text(text)
    with pytest.raises(ValueError) as e:
        read_boxes(str(p))
    assert str(e.value).startswith(f"{p}:{line}: ") and message in str(e.value)
