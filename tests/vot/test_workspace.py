"""trackers.ini entries, config.yaml, stacks, anchors and the `loretrack vot-setup` command (no tracking)."""
import configparser
import os
import sys

import pytest
import yaml

from loretrack_plugin.vot import stack as stacks
from loretrack_plugin.vot import workspace as ws

from .conftest import needs_toolkit, write_vot_sequence


def _entry(**kw):
    d = dict(identifier="loretrack", tracker="/opt/trackers/lore 100%.yaml", python="/env/bin/python",
             label="LoReTrack", checkpoint="/w/ckpt 50%.pth.tar", backend="eager", threads=2, timeout=600)
    d.update(kw)
    return ws.TrackerEntry(**d)


def test_trackers_ini_round_trips_through_configparser_and_keeps_other_sections(tmp_path):
    ini = tmp_path / "trackers.ini"
    ini.write_text("; my trackers\n[other]\nprotocol = trax\ncommand = ./other  ; keep me\n\n"
                   "[loretrack]\nprotocol = trax\ncommand = stale\n")
    kept = ws.write_trackers_ini(str(ini), [_entry(), _entry(identifier="loretrack-128", tracker="loretrack-128",
                                                             checkpoint=None, backend=None, threads=None)])
    assert kept == ["other"]
    text = ini.read_text()
    assert text.startswith("; my trackers\n[other]\n") and "command = ./other  ; keep me" in text
    assert "stale" not in text
    cp = configparser.ConfigParser()  # the toolkit's reader, '%' interpolation included
    cp.read(ini)
    assert cp.sections() == ["other", "loretrack", "loretrack-128"]
    lt = cp["loretrack"]
    assert lt["protocol"] == "traxpython" and lt["command"] == "loretrack_plugin.trackers.vot_trax"
    assert lt["python"] == "/env/bin/python" and lt["timeout"] == "600"
    assert lt["env_loretrack_vot_tracker"] == "/opt/trackers/lore 100%.yaml"
    assert lt["env_loretrack_vot_checkpoint"] == "/w/ckpt 50%.pth.tar"
    assert lt["env_loretrack_vot_backend"] == "eager" and lt["env_loretrack_vot_threads"] == "2"
    assert "env_loretrack_vot_checkpoint" not in cp["loretrack-128"]
    # writing again replaces, never duplicates
    ws.write_trackers_ini(str(ini), [_entry(threads=4)])
    cp = configparser.ConfigParser()
    cp.read(ini)
    assert cp.sections() == ["other", "loretrack-128", "loretrack"]
    assert cp["loretrack"]["env_loretrack_vot_threads"] == "4"


@needs_toolkit
def test_toolkit_registry_reads_the_entries(tmp_path):
    from vot.tracker import Registry
    ws.write_trackers_ini(str(tmp_path / "trackers.ini"), [_entry()])
    tracker = Registry([str(tmp_path)])["loretrack"]
    assert tracker.protocol == "traxpython" and tracker.label == "LoReTrack"
    d = tracker.describe()
    assert d["command"] == "loretrack_plugin.trackers.vot_trax" and d["python"] == "/env/bin/python"
    assert d["env"] == {"LORETRACK_VOT_TRACKER": "/opt/trackers/lore 100%.yaml",
                        "LORETRACK_VOT_CHECKPOINT": "/w/ckpt 50%.pth.tar",
                        "LORETRACK_VOT_BACKEND": "eager", "LORETRACK_VOT_THREADS": "2"}


def test_entry_rejects_what_the_toolkit_cannot_use():
    with pytest.raises(ValueError, match="identifier 'lore track'"):
        _entry(identifier="lore track")
    with pytest.raises(ValueError, match="checkpoint path must be absolute"):
        _entry(checkpoint="weights/x.pth.tar")
    with pytest.raises(ValueError, match="duplicate tracker identifiers"):
        ws.write_trackers_ini("/nonexistent/trackers.ini", [_entry(), _entry()])


def test_anchor_values_by_hand():
    boxes = [[1, 1, 5, 5]] * 25
    # anchors at 0, 10, 20: 0 and 10 have >= as many frames after as before (24 >= 0, 14 >= 10) -> forward
    assert [(i, v) for i, v in enumerate(ws.anchor_values(boxes, 10)) if v] == [(0, 1), (10, 1), (20, -1)]
    boxes[10] = None  # target absent on an anchor frame: no anchor there
    assert [(i, v) for i, v in enumerate(ws.anchor_values(boxes, 10)) if v] == [(0, 1), (20, -1)]


def test_groundtruth_parsing_and_anchor_files(tmp_path):
    root = tmp_path / "sequences"
    write_vot_sequence(str(root), "a", [(5, 5, 10, 10)] * 12)
    # polygon and empty rows, as in real VOT ground truth
    with open(root / "a" / "groundtruth.txt", "w") as f:
        f.write("0,0,0,0\n" + "10,10,30,12,28,40,8,38\n" * 11)
    assert ws.read_groundtruth(str(root), "a")[:2] == [None, [8.0, 10.0, 22.0, 30.0]]
    write_vot_sequence(str(root), "b", [(5, 5, 10, 10)] * 8, anchors=[1, 0, 0, 0, 0, 0, 0, -1])
    assert ws.sequence_lengths(str(root)) == {"a": 12, "b": 8}
    assert ws.write_anchors(str(root), 5) == {"a": 2}  # b keeps its own anchors
    assert (root / "a" / "anchor.value").read_text().split() == ["0"] * 5 + ["1"] + ["0"] * 4 + ["-1", "0"]
    assert (root / "b" / "anchor.value").read_text().split() == ["1"] + ["0"] * 6 + ["-1"]


def test_local_stack_and_eao_interval():
    assert stacks.eao_interval([40, 30, 52]) == (7, 52)
    s = stacks.local_stack("x.MultiStart", 7, 52)
    base = s["experiments"]["baseline"]
    assert base["type"] == "x.MultiStart"
    assert base["analyses"][0] == {"type": "multistart_eao_score", "name": "eaoscore", "low": 7, "high": 52}
    assert s["experiments"]["unsupervised"]["analyses"][0]["burnin"] == 1
    with pytest.raises(ValueError, match="low < high"):
        stacks.local_stack("x", 10, 10)


@needs_toolkit
def test_toolkit_stack_gets_its_multistart_experiments_replaced(tmp_path):
    path = stacks.toolkit_stack_file("vot2022/shorttermbox")
    original = stacks.read_stack(path)
    patched, n = stacks.patch_stack(original, stacks.PACKAGE_EXPERIMENT)
    assert n == 2  # baseline and realtime
    assert {k: v["type"] for k, v in patched["experiments"].items()} == {
        "baseline": stacks.PACKAGE_EXPERIMENT, "realtime": stacks.PACKAGE_EXPERIMENT, "unsupervised": "unsupervised"}
    assert original["experiments"]["baseline"]["type"] == "multistart"  # the input is not modified
    assert patched["experiments"]["baseline"]["analyses"] == original["experiments"]["baseline"]["analyses"]
    assert patched["dataset"] == original["dataset"]
    # the toolkit parses the patched stack with the replacement class
    from vot.stack import Stack
    stacks.write_stack(str(tmp_path / "stack.yaml"), patched)
    st = Stack.read(str(tmp_path / "stack.yaml"))
    from loretrack_plugin.vot.multistart import MultiStart
    assert isinstance(st.experiments["baseline"], MultiStart) and st.experiments["realtime"].realtime is not None


def test_write_config_keeps_existing_keys(tmp_path):
    (tmp_path / "config.yaml").write_text("registry:\n- ./mine.ini\nstack: vot2022/shorttermbox\nsequences: data\n")
    ws.write_config(str(tmp_path))
    cfg = yaml.safe_load((tmp_path / "config.yaml").read_text())
    assert cfg == {"registry": ["./mine.ini", "./trackers.ini"], "stack": "vot2022/shorttermbox", "sequences": "data"}
    ws.write_config(str(tmp_path), stack="./stack.yaml")
    assert yaml.safe_load((tmp_path / "config.yaml").read_text())["stack"] == "./stack.yaml"
    assert os.path.isdir(tmp_path / "results")


def _setup(capsys, *args):
    """`loretrack vot-setup ARGS` in this process -> (exit status, stdout, stderr)."""
    from loretrack_plugin.cli import main
    capsys.readouterr()
    rc = main(["vot-setup", *args])
    out, err = capsys.readouterr()
    return rc, out, err


def test_vot_setup_cli_writes_a_local_workspace_and_rejects_bad_input(tmp_path, tiny_tracker, capsys):
    wsdir = tmp_path / "ws"
    write_vot_sequence(str(wsdir / "sequences"), "s1", [(20, 20, 30, 30)] * 24)
    write_vot_sequence(str(wsdir / "sequences"), "s2", [(20, 20, 30, 30)] * 16)
    ckpt2 = tmp_path / "second.pth.tar"
    ckpt2.write_bytes(open(tiny_tracker["checkpoint"], "rb").read())
    rc, out, err = _setup(capsys, "--workspace", str(wsdir), "--default-tracker", tiny_tracker["yaml"],
               "--trackers", f"loretrack-128,{tiny_tracker['yaml']}", "--checkpoint", f"loretrack-128={ckpt2}",
               "--backend", "eager", "--timeout", "900", "--toolkit-env", "separate", "--anchor-spacing", "8")
    assert rc == 0, err
    cp = configparser.ConfigParser()
    cp.read(wsdir / "trackers.ini")
    assert cp.sections() == ["loretrack", "loretrack-128", "tiny-lore"]
    assert cp["loretrack"]["env_loretrack_vot_tracker"] == tiny_tracker["yaml"]
    assert cp["loretrack"]["env_loretrack_vot_checkpoint"] == tiny_tracker["checkpoint"]
    assert cp["loretrack-128"]["env_loretrack_vot_checkpoint"] == str(ckpt2)
    assert cp["loretrack-128"]["env_loretrack_vot_tracker"].endswith(os.path.join("trackers", "loretrack-128.yaml"))
    assert os.path.isabs(cp["loretrack-128"]["env_loretrack_vot_tracker"])
    for sec in cp.sections():
        assert os.path.samefile(cp[sec]["python"], sys.executable) and cp[sec]["timeout"] == "900"
        assert cp[sec]["env_loretrack_vot_backend"] == "eager"
    cfg = yaml.safe_load((wsdir / "config.yaml").read_text())
    assert cfg == {"registry": ["./trackers.ini"], "stack": "./stack.yaml"}
    st = yaml.safe_load((wsdir / "stack.yaml").read_text())
    assert st["experiments"]["baseline"]["type"] == stacks.STANDALONE_EXPERIMENT
    assert st["experiments"]["baseline"]["analyses"][0]["low"] == 4  # 16 // 4
    assert st["experiments"]["baseline"]["analyses"][0]["high"] == 24
    assert (wsdir / "python" / "loretrack_multistart.py").is_file()
    assert (wsdir / "sequences" / "s2" / "anchor.value").read_text().split() == ["1"] + ["0"] * 7 + ["-1"] + ["0"] * 7
    assert f"PYTHONPATH={wsdir / 'python'} vot evaluate loretrack" in out

    # errors: one line on stderr, exit status 2, files untouched
    before = (wsdir / "trackers.ini").read_text()
    for args, msg in [(["--checkpoint", "nope=/x"], "unknown entry 'nope'"),
                      (["--checkpoint", str(tmp_path / "missing.pth")], "file not found"),
                      (["--trackers", "no-such-tracker"], "unknown tracker 'no-such-tracker'"),
                      (["--synthetic"], "is not empty"),
                      (["--stack", str(tmp_path / "none.yaml")], "stack file not found"),
                      (["--backend", "int8"], "--backend: backend 'int8' does not ship for tracking")]:
        rc, out, err = _setup(capsys, "--workspace", str(wsdir), "--default-tracker", tiny_tracker["yaml"], *args)
        assert rc == 2 and msg in err and len(err.strip().splitlines()) == 1, (args, err)
    assert (wsdir / "trackers.ini").read_text() == before


@needs_toolkit
def test_vot_setup_switches_a_toolkit_stack_and_warns_about_an_unswitched_one(tmp_path, tiny_tracker, capsys):
    wsdir = tmp_path / "ws"
    wsdir.mkdir()
    (wsdir / "config.yaml").write_text("registry:\n- ./trackers.ini\nstack: vot2022/shorttermbox\n")
    rc, out, err = _setup(capsys, "--workspace", str(wsdir), "--default-tracker", tiny_tracker["yaml"])
    assert rc == 0, err
    assert "warning: the configured stack 'vot2022/shorttermbox' uses the toolkit's multistart" in out
    assert not (wsdir / "stack.yaml").exists()

    rc, out, err = _setup(capsys, "--workspace", str(wsdir), "--default-tracker", tiny_tracker["yaml"],
                          "--stack", "vot2022/shorttermbox", "--toolkit-env", "same")
    assert rc == 0, err
    assert "warning: the configured stack" not in out
    assert yaml.safe_load((wsdir / "config.yaml").read_text())["stack"] == "./stack.yaml"
    st = yaml.safe_load((wsdir / "stack.yaml").read_text())
    assert st["experiments"]["baseline"]["type"] == stacks.PACKAGE_EXPERIMENT
    assert st["dataset"].startswith("https://")  # real data is fetched by the toolkit as usual
    assert "sequences/list.txt is missing" in out
    assert not (wsdir / "python").exists()  # same environment: nothing to copy


def test_vot_setup_writes_entries_for_opencv_peers(tmp_path, tiny_tracker, capsys):
    wsdir = tmp_path / "ws"
    write_vot_sequence(str(wsdir / "sequences"), "s1", [(20, 20, 30, 30)] * 16)
    rc, out, err = _setup(capsys, "--workspace", str(wsdir), "--default-tracker", tiny_tracker["yaml"],
                          "--trackers", "opencv-nano,opencv-mil", "--threads", "1", "--toolkit-env", "separate")
    assert rc == 0, err
    cp = configparser.ConfigParser()
    cp.read(wsdir / "trackers.ini")
    assert cp.sections() == ["loretrack", "opencv-nano", "opencv-mil"]
    from loretrack_plugin.trackers.opencv_peers import WEIGHTS_DIR
    assert cp["opencv-nano"]["env_loretrack_vot_tracker"] == "opencv-nano"
    assert cp["opencv-nano"]["env_loretrack_vot_checkpoint"] == os.path.join(WEIGHTS_DIR, "nanotrack_backbone_sim.onnx")
    assert cp["opencv-mil"]["env_loretrack_vot_tracker"] == "opencv-mil"
    assert cp["opencv-mil"]["env_loretrack_vot_threads"] == "1"
