"""Catalogue: bad datasets, ground truth and frames given to ``loretrack eval``."""
import glob
import json
import math
import os

import cv2
import numpy as np

from loretrack_plugin.formats.sequence_names import lasot_names

from .catalogue import case
from .conftest import N_FRAMES, eval_args, files_under, run_cli, temps_under

SEQS = ("Basketball", "Biker")


def _gt(root, seq="Biker"):
    return os.path.join(root, seq, "groundtruth_rect.txt")


def _edit_rows(path, rows):
    """Replace rows of a box file: ``rows`` maps a 0-based row index to its new text."""
    with open(path) as f:
        lines = f.read().splitlines()
    for i, text in rows.items():
        lines[i] = text
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def _nothing_written(out):
    assert files_under(out) == [], files_under(out)


def _records(out, tracker, folder="OTB"):
    return {os.path.basename(p)[:-4]: p for p in glob.glob(os.path.join(out, "results", folder, tracker, "*.txt"))}


# ------------------------------------------------------------------------------ the dataset folder

@case("missing-root")
def test_missing_root(tiny, tmp_path):
    root = tmp_path / "no-such-dataset"
    run_cli(*eval_args(root, tmp_path / "out", tiny.yaml)).one_error(2, "dataset root not found", root)
    _nothing_written(tmp_path / "out")


@case("wrong-layout")
def test_root_in_another_layout(tiny, otb, tmp_path):
    res = run_cli(*eval_args(otb, tmp_path / "out", tiny.yaml, benchmark="lasot"))
    res.one_error(2, f"{otb} is not a LaSOT test folder", "groundtruth.txt")
    _nothing_written(tmp_path / "out")


@case("missing-sequences")
def test_dataset_with_missing_sequences(tiny, lasot_base, tmp_path):
    res = run_cli(*eval_args(lasot_base, tmp_path / "out", tiny.yaml, benchmark="lasot"))
    assert res.rc == 0 and res.errors == []
    assert any("278 of 280 sequences are not on disk" in w for w in res.warnings), res.warnings
    assert len(_records(tmp_path / "out", tiny.name, "LaSOT")) == 2
    present = set(_records(tmp_path / "out", tiny.name, "LaSOT"))
    absent = next(n for n in lasot_names("test") if n not in present)
    res = run_cli(*eval_args(lasot_base, tmp_path / "out2", tiny.yaml, "--sequences", absent, benchmark="lasot"))
    res.one_error(2, f"--sequences: {absent} not on disk")
    _nothing_written(tmp_path / "out2")


@case("short-gt")
def test_ground_truth_shorter_than_the_frames(tiny, otb, tmp_path):
    with open(_gt(otb)) as f:
        rows = f.read().splitlines()[:3]
    with open(_gt(otb), "w") as f:
        f.write("\n".join(rows) + "\n")
    res = run_cli(*eval_args(otb, tmp_path / "out", tiny.yaml))
    res.one_error(2, _gt(otb), f"3 boxes for {N_FRAMES} frames")
    _nothing_written(tmp_path / "out")


@case("garbage-gt")
def test_garbage_ground_truth(tiny, otb, tmp_path):
    with open(_gt(otb), "wb") as f:
        f.write(b"hello world\n\x00\x01\xff junk\n")
    run_cli(*eval_args(otb, tmp_path / "out", tiny.yaml)).one_error(2, _gt(otb), "not a box file")
    _nothing_written(tmp_path / "out")


@case("empty-gt")
def test_empty_ground_truth_is_an_error_not_a_skipped_sequence(tiny, otb, tmp_path):
    open(_gt(otb), "w").close()
    run_cli(*eval_args(otb, tmp_path / "out", tiny.yaml)).one_error(2, _gt(otb), "empty box file")
    _nothing_written(tmp_path / "out")


@case("empty-img")
def test_empty_img_folder(tiny, otb, tmp_path):
    for p in glob.glob(os.path.join(otb, "Biker", "img", "*")):
        os.remove(p)
    res = run_cli(*eval_args(otb, tmp_path / "out", tiny.yaml))
    res.one_error(2, _gt(otb), f"{N_FRAMES} boxes for 0 frames in {os.path.join(otb, 'Biker', 'img')}")
    _nothing_written(tmp_path / "out")


# ------------------------------------------------------------------------------ the initial box

def _first_box_case(tiny, otb, tmp_path, row, message):
    _edit_rows(_gt(otb), {0: row})
    res = run_cli(*eval_args(otb, tmp_path / "out", tiny.yaml))
    res.one_error(2, "sequence Biker: the first box of", _gt(otb), message)
    _nothing_written(tmp_path / "out")


@case("zero-area-box")
def test_zero_area_initial_box(tiny, otb, tmp_path):
    _first_box_case(tiny, otb, tmp_path, "10,10,0,0", "width and height must be positive")


@case("nan-box")
def test_nan_initial_box(tiny, otb, tmp_path):
    _first_box_case(tiny, otb, tmp_path, "NaN,10,10,10", "contains NaN or infinity")


@case("outside-box")
def test_initial_box_outside_the_frame(tiny, otb, tmp_path):
    _first_box_case(tiny, otb, tmp_path, "500,500,10,10", "entirely outside the 96x72 frame")


@case("nan-and-absent-rows")
def test_nan_and_absent_rows_in_lasot_ground_truth(tiny, lasot_base, tmp_path):
    import shutil
    root = str(tmp_path / "lasot")
    shutil.copytree(lasot_base, root)
    gt = sorted(glob.glob(os.path.join(root, "*", "*", "groundtruth.txt")))[0]
    _edit_rows(gt, {2: "NaN,NaN,NaN,NaN", 3: "0,0,0,0"})
    out = tmp_path / "out"
    res = run_cli(*eval_args(root, out, tiny.yaml, "--report", benchmark="lasot"))
    assert res.rc == 0 and res.errors == [], res.errors
    metrics = json.load(open(out / "reports" / "lasot" / "metrics.json"))
    overall = metrics["trackers"][tiny.name]["overall"]
    for key in ("success_score", "precision_score", "normalized_precision_score"):
        assert math.isfinite(overall[key]) and 0.0 <= overall[key] <= 1.0, (key, overall[key])
    assert metrics["trackers"][tiny.name]["missing_sequences"] == []
    assert os.path.isfile(out / "reports" / "LaSOT" / tiny.name / "performance.json")
    assert temps_under(out) == []


# ------------------------------------------------------------------------------ the frames

def _bad_frame_case(tiny, otb, tmp_path, spoil, reason):
    frame = os.path.join(otb, "Biker", "img", "0003.jpg")
    spoil(frame)
    out = tmp_path / "out"
    res = run_cli(*eval_args(otb, out, tiny.yaml))
    res.one_error(1, f"{tiny.name} on Biker failed: cannot read frame {frame}", reason)
    records = _records(out, tiny.name)
    assert set(records) == {"Basketball"}   # the other sequence ran; nothing of Biker is left
    assert not os.path.exists(os.path.join(out, "results", "OTB", tiny.name, "times", "Biker_time.txt"))
    assert len(np.loadtxt(records["Basketball"], delimiter=",")) == N_FRAMES
    assert temps_under(out) == []


@case("corrupt-frame")
def test_truncated_jpeg_mid_sequence_names_the_frame(tiny, otb, tmp_path):
    def truncate(path):
        data = open(path, "rb").read()
        open(path, "wb").write(data[: len(data) // 2])
    _bad_frame_case(tiny, otb, tmp_path, truncate, "truncated")


@case("not-an-image-frame")
def test_frame_that_is_not_an_image(tiny, otb, tmp_path):
    _bad_frame_case(tiny, otb, tmp_path, lambda p: open(p, "wb").write(b"not an image\n" * 20),
                    "cannot identify image file")


@case("unreadable-frame")
def test_unreadable_frame_mid_sequence(tiny, otb, tmp_path):
    def dangle(path):
        os.remove(path)
        os.symlink(os.path.join(os.path.dirname(path), "gone.jpg"), path)
    _bad_frame_case(tiny, otb, tmp_path, dangle, "No such file or directory")


@case("grayscale-frames")
def test_grayscale_frames(tiny, otb, tmp_path):
    for p in glob.glob(os.path.join(otb, "*", "img", "*.jpg")):
        cv2.imwrite(p, cv2.imread(p, cv2.IMREAD_GRAYSCALE))
    out = tmp_path / "out"
    res = run_cli(*eval_args(otb, out, tiny.yaml))
    assert res.rc == 0 and res.errors == []
    records = _records(out, tiny.name)
    assert set(records) == set(SEQS)
    for p in records.values():
        boxes = np.loadtxt(p, delimiter=",")
        assert boxes.shape == (N_FRAMES, 4) and np.isfinite(boxes).all()


def _png_dataset(src, dst, convert):
    """``src``'s sequences with every frame written as PNG by ``convert(rgb) -> array for cv2.imwrite``."""
    for seq in SEQS:
        os.makedirs(os.path.join(dst, seq, "img"))
        with open(_gt(src, seq)) as f, open(_gt(dst, seq), "w") as g:
            g.write(f.read())
        for p in sorted(glob.glob(os.path.join(src, seq, "img", "*.jpg"))):
            rgb = cv2.cvtColor(cv2.imread(p), cv2.COLOR_BGR2RGB)
            name = os.path.basename(p)[:-4] + ".png"
            assert cv2.imwrite(os.path.join(dst, seq, "img", name), convert(rgb))
    return str(dst)


def _same_boxes_on(tiny, tmp_path, roots):
    outs = []
    for i, root in enumerate(roots):
        out = tmp_path / f"out{i}"
        res = run_cli(*eval_args(root, out, tiny.yaml))
        assert res.rc == 0 and res.errors == [], res.errors
        outs.append(_records(out, tiny.name))
    assert set(outs[0]) == set(SEQS)
    for seq in SEQS:
        a, b = (open(o[seq]).read() for o in outs)
        assert a == b, seq


@case("png16-frames")
def test_16_bit_png_frames_track_like_their_8_bit_version(tiny, otb_base, tmp_path):
    grey8 = _png_dataset(otb_base, tmp_path / "grey8", lambda rgb: cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
    grey16 = _png_dataset(otb_base, tmp_path / "grey16",
                          lambda rgb: cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.uint16) * 257)
    assert cv2.imread(glob.glob(os.path.join(grey16, "Biker", "img", "*.png"))[0], cv2.IMREAD_UNCHANGED).dtype \
        == np.uint16
    # read as 16-bit (not clipped to white), the frames are the 8-bit ones: the boxes are the same
    _same_boxes_on(tiny, tmp_path, [grey8, grey16])


@case("rgba-frames")
def test_rgba_png_frames_track_like_their_rgb_version(tiny, otb_base, tmp_path):
    rng = np.random.default_rng(0)
    rgb = _png_dataset(otb_base, tmp_path / "rgb", lambda im: cv2.cvtColor(im, cv2.COLOR_RGB2BGR))
    rgba = _png_dataset(otb_base, tmp_path / "rgba", lambda im: np.dstack(
        [cv2.cvtColor(im, cv2.COLOR_RGB2BGR), rng.integers(0, 256, im.shape[:2], dtype=np.uint8)]))
    _same_boxes_on(tiny, tmp_path, [rgb, rgba])


# ------------------------------------------------------------------------------ the arguments

@case("bad-arguments")
def test_malformed_arguments_name_the_argument(tiny, otb, tmp_path):
    out = tmp_path / "out"
    run_cli(*eval_args(otb, out, tiny.yaml, "--shard", "3/2")).one_error(2, "--shard '3/2'")
    run_cli(*eval_args(otb, out, tiny.yaml, "--checkpoint", "tiny-64")).one_error(2, "--checkpoint 'tiny-64'")
    run_cli(*eval_args(otb, out, tiny.yaml, "--workers", "0")).one_error(2, "--workers 0")
    run_cli(*eval_args(otb, out, tiny.yaml, "--sequences", "Nope")).one_error(2, "--sequences", "Nope")
    run_cli(*eval_args(otb, out, tiny.yaml, "--backend", "int8")).one_error(2, "--backend: backend 'int8' does not ship")
    run_cli(*eval_args(otb, out, tiny.yaml, "--backend", "tpu")).one_error(2, "--backend: backend 'tpu'")
    _nothing_written(out)
