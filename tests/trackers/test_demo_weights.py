"""The models that ship with the package: listed with their provenance, intact, loadable, and they
track a real sequence."""
import hashlib
import json
import os

import numpy as np
import pytest
import torch

from loretrack_plugin import load_checkpoint, shipped
from loretrack_plugin.config import NetConfig
from loretrack_plugin.models.net import TrackerNet
from loretrack_plugin.sample_data import real_sample_root
from loretrack_plugin.trackers import get_spec, list_trackers, make_tracker
from loretrack_plugin.formats import load_otb_sequence, read_rgb


def _record():
    with open(shipped.PROVENANCE) as f:
        return json.load(f)


def _shipped_trackers():
    return [n for stage, n in shipped.NAMES.items() if stage != "backbone" and n in _record()["files"]]


def test_shipped_files_are_listed_intact_and_have_provenance():
    rec = _record()
    assert shipped.NAMES["backbone"] in rec["files"] and shipped.NAMES["teacher"] in rec["files"]
    for name, entry in rec["files"].items():
        path = os.path.join(os.path.dirname(shipped.WEIGHTS_DIR), entry["file"])
        with open(path, "rb") as f:
            assert hashlib.sha256(f.read()).hexdigest() == entry["sha256"], name
        run = rec["runs"][name]
        assert run["samples"] > 0 and run["train_seconds"] > 0
    for name in _shipped_trackers():
        assert name in list_trackers()
        spec = get_spec(name)
        assert spec.checkpoint == shipped.weights_path({v: k for k, v in shipped.NAMES.items()}[name])
        # every miniature tracker runs the loop its evaluation used
        assert spec.loop == shipped.LOOP
        assert all(rec["evaluation"].get(k) == v for k, v in shipped.LOOP.items())
        assert spec.search_factor == shipped.SEARCH_FACTOR == rec["evaluation"]["search_factor"]
        assert spec.template_factor == shipped.TEMPLATE_FACTOR


def test_backbone_initialises_teacher_and_student_sizes():
    """The shipped backbone (a 192/96 network on the stem) starts the teacher and the student at their
    own sizes: position tables resized, the head's correlation inputs resampled, nothing left out."""
    from loretrack_plugin.train.config import net_kwargs
    from loretrack_plugin.recipes import recipe_path
    from loretrack_plugin.train.config import load_config
    for stage in ("teacher", "student"):
        model = load_config(recipe_path(shipped.RECIPES[stage]), [{"teacher": {"checkpoint": "unused"}}])["model"]
        net = TrackerNet(NetConfig(**net_kwargs(model)))
        before = {k: v.clone() for k, v in net.state_dict().items()}
        rep = load_checkpoint(net, shipped.require("backbone"))
        size = model["search_size"]
        assert net.backbone.pos_embed_x.shape[1] == (size // 16) ** 2
        assert any("correlation inputs" in n for n in rep.notes) and any("pos_embed_x" in n for n in rep.notes)
        changed = [k for k, v in net.state_dict().items() if v.is_floating_point() and not torch.equal(v, before[k])]
        assert any(k.startswith("backbone.blocks.") for k in changed) and any(k.startswith("box_head.") for k in changed)
        assert all(torch.isfinite(v).all() for v in net.state_dict().values() if v.is_floating_point())


@pytest.mark.parametrize("name", _shipped_trackers())
def test_shipped_tracker_runs_on_a_real_sequence(name):
    paths, gt = load_otb_sequence(os.path.join(real_sample_root(), "Crossing"))
    frames = [read_rgb(p) for p in paths[:12]]
    tracker = make_tracker(name, backend="eager")
    tracker.init(frames[0], gt[0])
    H, W = frames[0].shape[:2]
    for frame in frames[1:]:
        box, score = tracker.update(frame)
        assert np.all(np.isfinite(box)) and 0.0 < score < 1.0
        assert box[0] <= W and box[1] <= H and box[2] >= 10 and box[3] >= 10


def test_provenance_names_no_folder_of_the_training_machine():
    """Data folders are recorded as the variables the recipes read (a clone has no such folder)."""
    from tests.conftest import load_script
    portable = load_script("experiments/mini/ship.py").portable
    folders = {"/data/real-train": "${LORETRACK_REAL_TRAIN}", "data/real-train": "${LORETRACK_REAL_TRAIN}"}
    assert portable({"a": ["cd /data/real-train/x", "data/real-train", 3]}, folders) == \
        {"a": ["cd ${LORETRACK_REAL_TRAIN}/x", "${LORETRACK_REAL_TRAIN}", 3]}
    roots = []

    def walk(obj):
        if isinstance(obj, dict):
            roots.extend(v for k, v in obj.items() if k == "root" and isinstance(v, str))
            for v in obj.values():
                walk(v)
        elif isinstance(obj, list):
            for v in obj:
                walk(v)
    walk(_record())
    assert roots and all(r.startswith("${") for r in roots), roots


def test_provenance_names_shipped_files_by_their_stage():
    """A run's initialisation or teacher that is what ships as a stage is recorded as shipped:<stage>."""
    from tests.conftest import load_script
    ship = load_script("experiments/mini/ship.py")
    rec = {"model": {"init": "/x/backbone.pth.tar"}, "teacher": {"checkpoint": "/x/t.pth.tar"}, "other": "/x/t.pth"}
    assert ship.name_shipped(rec, {"/x/backbone.pth.tar": "shipped:backbone", "/x/t.pth.tar": "shipped:teacher"}) == \
        {"model": {"init": "shipped:backbone"}, "teacher": {"checkpoint": "shipped:teacher"}, "other": "/x/t.pth"}
    # the shipped record itself: every file a run read is a shipped stage or a data folder
    inits = {r["config"]["model"]["init"] for r in _record()["runs"].values() if r["config"]["model"].get("init")}
    assert inits == {"shipped:backbone"}
    teachers = {r["config"]["teacher"]["checkpoint"] for r in _record()["runs"].values()
                if r["config"].get("teacher", {}).get("checkpoint")}
    assert teachers <= {"shipped:teacher"}


def test_shipped_descriptions_say_how_their_runs_treated_the_stem():
    """The description a user reads (``loretrack list``, reports) names the stem as its run had it:
    frozen or trained, and zoomed when the network zooms."""
    from tests.conftest import load_script
    ship = load_script("experiments/mini/ship.py")
    assert ship.stem_phrase({"patch_embed": "nanotrack-v3"}) == "frozen NanoTrack v3 stem"
    assert ship.stem_phrase({"patch_embed": "nanotrack-v3", "freeze_stem": False, "stem_zoom": 2}) == \
        "trained NanoTrack v3 stem (input zoomed 2x)"
    record = _record()
    for stage in ("teacher", "student", "baseline"):
        name = shipped.NAMES[stage]
        model = record["runs"][name]["config"]["model"]
        if model.get("patch_embed", "linear") == "linear":
            continue
        desc = get_spec(name).description
        assert ship.stem_phrase(model) in desc, (name, desc)
