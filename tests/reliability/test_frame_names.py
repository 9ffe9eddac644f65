"""Catalogue: frame names without zero padding or of ambiguous order, and polygon / mixed ground truth,
given to ``loretrack eval`` and ``loretrack train``."""
import glob
import json
import os
import shutil

import numpy as np
import torch

from tests.data.frame_names import renamed_copy

from .catalogue import case
from .conftest import FRAME_SIZE, eval_args, files_under, run_cli, temps_under, train_config

LONG = 12   # frames per sequence: from 10 on, string order and number order differ


def _gt(root, seq):
    return os.path.join(root, seq, "groundtruth_rect.txt")


def _results(root, out, tracker, *extra):
    """``{sequence: record text}`` and the success score of an ``eval`` run that must succeed."""
    res = run_cli(*eval_args(root, out, tracker.yaml, "--report", *extra))
    assert res.rc == 0 and res.errors == [], res.errors
    records = {os.path.basename(p)[:-4]: open(p).read()
               for p in glob.glob(os.path.join(out, "results", "OTB", tracker.name, "*.txt"))}
    metrics = json.load(open(os.path.join(out, "reports", "otb-dir", "metrics.json")))
    assert temps_under(out) == []
    return records, metrics["trackers"][tracker.name]["overall"]["success_score"]


def _same_results(tiny, tmp_path, roots):
    (a, score_a), (b, score_b) = (_results(r, tmp_path / f"out{i}", tiny) for i, r in enumerate(roots))
    assert len(a) == 2 and a == b and score_a == score_b


# ------------------------------------------------------------------------------ eval

@case("unpadded-frame-names")
def test_unpadded_frame_names_give_the_padded_results(tiny, tmp_path):
    from loretrack_plugin.synthetic import make_dataset
    padded = str(tmp_path / "padded")
    make_dataset("otb", padded, 2, LONG, seed=3, image_size=FRAME_SIZE)
    unpadded = renamed_copy(padded, str(tmp_path / "unpadded"))
    assert os.path.isfile(os.path.join(unpadded, "Biker", "img", f"{LONG}.jpg"))
    _same_results(tiny, tmp_path, [padded, unpadded])


@case("ambiguous-frame-names")
def test_ambiguous_frame_names_stop_before_anything_runs(tiny, otb, tmp_path):
    img = os.path.join(otb, "Biker", "img")
    for extra, clash in (("03.jpg", "0003.jpg and 03.jpg (both carry frame number 3)"),
                         ("cover.jpg", "cover.jpg and 0001.jpg (cover.jpg carries no frame number)")):
        shutil.copyfile(os.path.join(img, "0003.jpg"), os.path.join(img, extra))
        out = tmp_path / extra
        res = run_cli(*eval_args(otb, out, tiny.yaml))
        res.one_error(2, "cannot load sequence Biker", f"{img}: frame order is ambiguous: {clash}")
        assert files_under(out) == []
        os.remove(os.path.join(img, extra))


@case("polygon-gt")
def test_polygon_ground_truth_is_read_as_bounding_boxes(tiny, otb_base, tmp_path):
    polygons = str(tmp_path / "polygons")
    shutil.copytree(otb_base, polygons)
    for seq in ("Basketball", "Biker"):
        boxes = np.loadtxt(_gt(otb_base, seq), delimiter=",")
        with open(_gt(polygons, seq), "w") as f:
            for x, y, w, h in boxes:
                # a quadrilateral touching each side of its box once: the box is its bounding box
                corners = (x + 1, y, x + w, y + 1, x + w - 1, y + h, x, y + h - 1)
                f.write(",".join(f"{v:g}" for v in corners) + "\n")
    _same_results(tiny, tmp_path, [otb_base, polygons])


@case("mixed-gt-rows")
def test_ground_truth_mixing_boxes_and_polygons_names_the_line(tiny, otb, tmp_path):
    gt = _gt(otb, "Biker")
    with open(gt) as f:
        rows = f.read().splitlines()
    rows[2] = "10,10,20,10,20,20,10,20"
    with open(gt, "w") as f:
        f.write("\n".join(rows) + "\n")
    res = run_cli(*eval_args(otb, tmp_path / "out", tiny.yaml))
    res.one_error(2, f"{gt}:3: 8 numbers", "after rows of 4 from line 1")
    assert files_under(tmp_path / "out") == []


# ------------------------------------------------------------------------------ training

def _train(cfg, out):
    return run_cli("train", "--config", cfg, "--output-dir", out, "--no-progress")


@case("unpadded-train-frames")
def test_unpadded_training_frames_train_the_same_weights(train_data, tmp_path):
    unpadded = renamed_copy(train_data, str(tmp_path / "unpadded"))
    nets = []
    for name, root in (("padded", train_data), ("unpadded", unpadded)):
        cfg = train_config(tmp_path / f"{name}.yaml", root, optim={"epochs": 1})
        res = _train(cfg, tmp_path / name)
        assert res.rc == 0 and res.errors == [], res.errors
        nets.append(torch.load(json.loads(res.stdout)["checkpoint"], map_location="cpu", weights_only=True)["net"])
    a, b = nets
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@case("ambiguous-train-frames")
def test_ambiguous_training_frames_stop_before_the_run_starts(train_data, tmp_path):
    root = tmp_path / "data"
    shutil.copytree(train_data, root)
    img = root / sorted(os.listdir(root))[0] / "img"
    shutil.copyfile(img / "0001.jpg", img / "1.jpg")
    cfg = train_config(tmp_path / "cfg.yaml", root)
    res = _train(cfg, tmp_path / "run")
    res.one_error(2, f"{img}: frame order is ambiguous: 0001.jpg and 1.jpg (both carry frame number 1)")
    assert files_under(tmp_path / "run") == []
