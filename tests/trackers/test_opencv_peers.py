"""OpenCV's trackers as named trackers: which cv2 is imported, the shipped NanoTrack files, and the
peers run as LoReTrack's trackers are (registry, got10k adapter) on the real sample that ships with
the package."""
import ast
import fnmatch
import hashlib
import json
import os
import shutil
from importlib import metadata

import cv2
import numpy as np
import pytest
from got10k.trackers import Tracker
from PIL import Image

from loretrack_plugin.formats import load_otb_sequence, read_rgb
from loretrack_plugin.trackers import PEERS, OpenCVPeer, build_got10k_tracker, get_spec, list_trackers, make_tracker
from loretrack_plugin.trackers.opencv_peers import (CONTRIB_BUILD, CV2_DISTRIBUTIONS, WEIGHTS_DIR, PeerSpec,
                                                    cv2_distributions, model_files)
from loretrack_plugin import trackers as loretrack_trackers
from tests.conftest import REPO


# ---- which cv2 -------------------------------------------------------------------------------------

def test_one_opencv_distribution_provides_the_imported_cv2_and_it_has_tracker_nano():
    found = cv2_distributions()
    assert len(found) == 1, f"several OpenCV wheels are installed side by side and overwrite each other: {found}"
    dist = found[0]
    files = {os.path.normpath(str(metadata.distribution(dist).locate_file(f))) for f in metadata.files(dist)}
    assert os.path.normpath(cv2.__file__) in files, f"cv2 is imported from {cv2.__file__}, not from {dist}"
    assert hasattr(cv2, "TrackerNano") and hasattr(cv2, "TrackerNano_Params")
    # the project asks for exactly one of them
    with open(os.path.join(REPO, "setup.py")) as f:
        text = f.read()
    assert sum(f'"{d}' in text for d in CV2_DISTRIBUTIONS) == 1


# ---- the shipped NanoTrack files -------------------------------------------------------------------

def test_shipped_nanotrack_files_match_their_provenance_and_licence():
    with open(os.path.join(WEIGHTS_DIR, "PROVENANCE.json")) as f:
        prov = json.load(f)
    assert prov["source_commit"] == "248663fde6bf7c40190cf10ee396d5662919ecd3"
    assert prov["licence"] == "Apache-2.0"
    with open(os.path.join(WEIGHTS_DIR, prov["licence_file"])) as f:
        assert "Apache License" in f.read(2000)
    for name, rec in prov["files"].items():
        assert rec["source_path"] == f"NanoTrack/models/nanotrackv2/{name}"
        with open(os.path.join(WEIGHTS_DIR, name), "rb") as f:
            data = f.read()
        assert len(data) == rec["bytes"] and hashlib.sha256(data).hexdigest() == rec["sha256"], name
    # the peer loads them from inside the package, never from beside the clone
    assert model_files(PEERS["opencv-nano"]) == tuple(os.path.join(WEIGHTS_DIR, n) for n in
                                                       ("nanotrack_backbone_sim.onnx", "nanotrack_head_sim.onnx"))
    package = os.path.dirname(os.path.abspath(loretrack_trackers.__file__))
    assert os.path.commonpath([WEIGHTS_DIR, package]) == package


def test_setup_ships_every_file_of_the_nanotrack_folder():
    with open(os.path.join(REPO, "setup.py")) as f:
        tree = ast.parse(f.read())
    call = next(n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "setup")
    package_data = ast.literal_eval(next(k.value for k in call.keywords if k.arg == "package_data"))
    patterns = package_data["loretrack_plugin.trackers"]
    for name in os.listdir(WEIGHTS_DIR):
        rel = f"weights/opencv/{name}"
        assert any(fnmatch.fnmatch(rel, p) for p in patterns), f"{rel} would not be installed"


# ---- the registry --------------------------------------------------------------------------------

def test_peers_are_named_trackers_with_reserved_names(tmp_path, monkeypatch):
    assert {"opencv-nano", "opencv-mil", "opencv-csrt", "opencv-kcf"} <= set(list_trackers())
    # a tracker file of that name elsewhere does not take the name over
    (tmp_path / "opencv-nano.yaml").write_text("name: opencv-nano\nsearch_factor: 4\ntemplate_factor: 2\n")
    monkeypatch.setenv("LORETRACK_TRACKERS", str(tmp_path))
    spec = get_spec("opencv-nano")
    assert isinstance(spec, PeerSpec) and spec.network is None and spec.loop == {} and spec.backend == "opencv"
    with pytest.raises(ValueError, match="unknown tracker 'opencv-nope': known trackers are .*opencv-nano"):
        get_spec("opencv-nope")
    with pytest.raises(ValueError, match="is not a LoReTrack network: it has none to load"):
        from loretrack_plugin.trackers import load_tracker_net
        load_tracker_net(spec)


def test_unavailable_tracker_names_the_package_that_has_it(monkeypatch):
    monkeypatch.delattr(cv2, "TrackerCSRT", raising=False)
    with pytest.raises(ValueError) as e:
        make_tracker("opencv-csrt")
    line = str(e.value)
    assert "\n" not in line and "'opencv-csrt'" in line and "cv2.TrackerCSRT" in line and CONTRIB_BUILD in line


@pytest.mark.parametrize("name", sorted(PEERS))
def test_every_peer_runs_where_this_opencv_has_it(name):
    """What this cv2 offers runs; what it lacks stops with the one line naming the package."""
    spec = PEERS[name]
    if not hasattr(cv2, spec.cv2_class):
        with pytest.raises(ValueError, match=spec.provider):
            make_tracker(name)
        return
    paths, gt = load_otb_sequence(os.path.join(REPO, "loretrack_plugin", "sample_data", "real", "Crossing"))
    peer = make_tracker(name, threads=1)
    assert isinstance(peer, OpenCVPeer) and peer.describe()["opencv_threads"] == 1
    peer.init(read_rgb(paths[0]), gt[0])
    box, score = peer.update(read_rgb(paths[1]))
    assert box.shape == (4,) and np.isfinite(box).all() and 0.0 <= score <= 1.0


# ---- tracking -------------------------------------------------------------------------------------

def test_nano_through_got10k_tracks_a_real_sequence_deterministically(real_otb_root):
    paths, gt = load_otb_sequence(os.path.join(real_otb_root, "MountainBike6"))
    tracker = build_got10k_tracker("opencv-nano", threads=1)
    assert isinstance(tracker, Tracker) and tracker.name == "opencv-nano" and tracker.is_deterministic
    boxes, times = tracker.track(paths, gt[0])
    assert boxes.shape == (len(paths), 4) and (times > 0).all()
    assert np.array_equal(boxes[0], gt[0])
    again, _ = tracker.track(paths, gt[0])
    assert np.array_equal(boxes, again), "a second run of the same tracker gives other boxes"
    # it follows the target: centres within the ground-truth box's size on most frames
    c, cg = boxes[:, :2] + boxes[:, 2:] / 2, gt[:, :2] + gt[:, 2:] / 2
    assert np.mean(np.linalg.norm(c - cg, axis=1) < np.linalg.norm(gt[:, 2:], axis=1)) > 0.9
    # the same frames as arrays (RGB) give the same boxes as got10k's PIL images
    core = make_tracker("opencv-nano", threads=1)
    core.init(np.asarray(Image.open(paths[0]).convert("RGB")), gt[0])
    want = [core.update(np.asarray(Image.open(p).convert("RGB")))[0] for p in paths[1:]]
    assert np.array_equal(boxes[1:], np.array(want))


def test_peers_start_anew_on_every_target_and_say_whether_they_are_deterministic(real_otb_root):
    """A fresh OpenCV tracker per target: NanoTrack gives the same boxes for the same target after another
    one; MIL, whose sampler OpenCV seeds itself, says it is not deterministic (got10k repeats it)."""
    frames, boxes = {}, {}
    for seq in ("Crossing", "Biker"):
        paths, gt = load_otb_sequence(os.path.join(real_otb_root, seq))
        frames[seq], boxes[seq] = [read_rgb(p) for p in paths[:6]], gt[0]
    nano = make_tracker("opencv-nano", threads=1)
    runs = []
    for seq in ("Crossing", "Biker", "Crossing"):
        nano.init(frames[seq][0], boxes[seq])
        runs.append(np.array([nano.update(f)[0] for f in frames[seq][1:]]))
    assert np.array_equal(runs[0], runs[2])
    assert PEERS["opencv-nano"].deterministic and not PEERS["opencv-mil"].deterministic
    assert not build_got10k_tracker("opencv-mil").is_deterministic


# ---- bad input ------------------------------------------------------------------------------------

def test_nano_model_files_are_checked(tmp_path):
    only_backbone = tmp_path / "only"
    only_backbone.mkdir()
    shutil.copy(os.path.join(WEIGHTS_DIR, "nanotrack_backbone_sim.onnx"), only_backbone)
    with pytest.raises(FileNotFoundError, match="neck/head ONNX file not found: .*nanotrack_head_sim.onnx"):
        make_tracker("opencv-nano", checkpoint=str(only_backbone / "nanotrack_backbone_sim.onnx"))
    with pytest.raises(FileNotFoundError, match="backbone ONNX file not found"):
        make_tracker("opencv-nano", checkpoint=str(tmp_path / "gone_backbone.onnx"))
    with pytest.raises(ValueError, match="must contain 'backbone'"):
        make_tracker("opencv-nano", checkpoint=str(tmp_path / "model.onnx"))
    junk = tmp_path / "junk"
    junk.mkdir()
    for n in ("nanotrack_backbone_sim.onnx", "nanotrack_head_sim.onnx"):
        (junk / n).write_bytes(b"not an onnx model")
    with pytest.raises(ValueError, match="OpenCV cannot load its ONNX files"):
        make_tracker("opencv-nano", checkpoint=str(junk / "nanotrack_backbone_sim.onnx"))
    with pytest.raises(ValueError, match="takes no checkpoint"):
        make_tracker("opencv-mil", checkpoint=str(junk / "nanotrack_backbone_sim.onnx"))
    with pytest.raises(ValueError, match="threads"):
        make_tracker("opencv-mil", threads=0)


def test_zero_size_box_is_refused_as_loretrack_refuses_it():
    peer = make_tracker("opencv-nano", threads=1)
    frame = np.zeros((60, 80, 3), np.uint8)
    with pytest.raises(ValueError, match=r"^init box \[10.0, 10.0, 0.0, 5.0\]: width and height must be positive"):
        peer.init(frame, [10, 10, 0, 5])
    with pytest.raises(RuntimeError, match="update before init"):
        make_tracker("opencv-mil").update(frame)


# ---- loretrack bench: timed in the same run -------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_yaml(tmp_path_factory):
    import torch

    from loretrack_plugin import build_net, save_checkpoint
    from tests.conftest import tiny_net_kwargs
    d = tmp_path_factory.mktemp("tiny_bench")
    torch.manual_seed(4)
    save_checkpoint(build_net(64, 32, **tiny_net_kwargs()), str(d / "tiny.pth.tar"), epoch=1)
    (d / "tiny-64.yaml").write_text("search_factor: 5.0\ntemplate_factor: 2.0\ncheckpoint: ./tiny.pth.tar\n")
    return str(d / "tiny-64.yaml")


def test_bench_times_peers_in_the_same_rotation(tiny_yaml, real_otb_root, tmp_path, capsys):
    from loretrack_plugin.cli import main
    js = tmp_path / "bench.json"
    rc = main(["bench", "--tracker", tiny_yaml, "--backends", "eager", "--frames", "3", "--repeats", "2", "--no-peak",
               "--peers", "opencv-nano,opencv-mil", "--threads", "1", "--json", str(js),
               "--sequence", os.path.join(real_otb_root, "Crossing")])
    out = capsys.readouterr().out
    assert rc == 0
    assert "OpenCV's trackers, timed in the same rotation" in out and "threads: 1 (torch 1, OpenCV 1)" in out
    r = json.loads(js.read_text())
    assert r["opencv_threads"] == 1 and [p["peer"] for p in r["peers"]] == ["opencv-nano", "opencv-mil"]
    eager = next(t for t in r["timing"] if t["backend"] == "eager")
    for p in r["peers"]:
        assert p["frames"] == 3 * 2 and p["opencv_threads"] == 1 and p["engine"].startswith("opencv ")
        assert p["reference"] == "eager" and p["speed_ratio"] == pytest.approx(p["step_ms"] / eager["step_ms"])
        assert p["speed_ratio_by_backend"] == {"eager": pytest.approx(p["step_ms"] / eager["step_ms"])}
    assert "| `opencv-nano` | opencv " in r["readme_peers_table"] and "opencv" not in r["readme_table"]


def test_bench_refuses_what_is_not_a_peer(tiny_yaml, capsys):
    from loretrack_plugin.cli import main
    assert main(["bench", "--tracker", tiny_yaml, "--peers", "loretrack-96", "--frames", "2"]) == 2
    assert "--peers: 'loretrack-96' is not a peer or reference tracker" in capsys.readouterr().err
    assert main(["bench", "--tracker", "opencv-nano", "--frames", "2"]) == 2
    assert "time it beside a LoReTrack tracker with --peers opencv-nano" in capsys.readouterr().err
