"""Catalogue: bad configs, data, teachers and run folders given to ``loretrack train`` / ``distill``;
``kill -9`` in training and ``--resume``."""
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import torch

from .catalogue import case
from .conftest import files_under, run_cli, temps_under, train_config


def _train(cfg, out, *extra, command="train"):
    return run_cli(command, "--config", cfg, "--output-dir", out, "--no-progress", *extra)


@case("bad-config")
def test_bad_training_config_names_the_file_and_key(train_data, tmp_path):
    out = tmp_path / "run"
    cfg = train_config(tmp_path / "cfg.yaml", train_data)
    text = open(cfg).read()
    bad = tmp_path / "bad.yaml"
    for content, message in ((text + "foo: 1\n", "unknown config key 'foo'"),
                             (text.replace("batch_size: 4", "batch_size: four"),
                              "config key 'optim.batch_size' must be a number, got 'four'"),
                             (text + "optim: [unclosed\n", "not valid YAML")):
        bad.write_text(content)
        _train(bad, out).one_error(2, f"{bad}: ", message)
        assert files_under(out) == []


@case("missing-config")
def test_missing_config_file(tmp_path):
    cfg = tmp_path / "no-such-config.yaml"
    _train(cfg, tmp_path / "run").one_error(2, f"config file not found: {cfg}")
    assert files_under(tmp_path / "run") == []


@case("missing-train-data")
def test_training_data_root_that_does_not_exist(tmp_path):
    root = tmp_path / "no-such-data"
    cfg = train_config(tmp_path / "cfg.yaml", root)
    _train(cfg, tmp_path / "run").one_error(2, f"otb dataset root not found: {root}")
    assert files_under(tmp_path / "run") == []


@case("corrupt-train-frames")
def test_unreadable_training_frames_are_skipped_and_counted(train_data, tmp_path):
    root = tmp_path / "data"
    shutil.copytree(train_data, root)
    seq = sorted(os.listdir(root))[0]
    spoiled = sorted(glob.glob(str(root / seq / "img" / "*.jpg")))[1::2]
    for frame in spoiled:
        with open(frame, "wb") as f:
            f.write(b"\x00" * 64)
    cfg = train_config(tmp_path / "cfg.yaml", root, optim={"epochs": 1},
                       data={"train": {"datasets": [{"type": "otb", "root": str(root)}], "samples_per_epoch": 16}})
    res = _train(cfg, tmp_path / "run")
    assert res.rc == 0 and res.errors == [], res.errors
    summary = json.loads(res.stdout)
    assert summary["corrupt_images"] > 0 and os.path.isfile(summary["checkpoint"])
    warned = [w for w in res.warnings if "unreadable" in w]
    assert warned and all(any(frame in w for frame in spoiled) for w in warned), res.warnings


@case("missing-teacher")
def test_distill_without_a_teacher(train_data, tmp_path):
    cfg = train_config(tmp_path / "cfg.yaml", train_data)
    out = tmp_path / "run"
    _train(cfg, out, command="distill").one_error(2, "distillation needs a teacher checkpoint", "--teacher")
    missing = tmp_path / "no-such-teacher.pth.tar"
    _train(cfg, out, "--teacher", missing, command="distill").one_error(2, f"checkpoint not found: {missing}")
    assert files_under(out) == []


@case("bad-teacher")
def test_teacher_that_is_not_a_checkpoint(train_data, tmp_path):
    cfg = train_config(tmp_path / "cfg.yaml", train_data)
    teacher = tmp_path / "teacher.pth.tar"
    teacher.write_text("not a checkpoint\n")
    res = _train(cfg, tmp_path / "run", "--teacher", teacher, command="distill")
    res.one_error(2, f"{teacher}: not a readable PyTorch checkpoint")
    assert files_under(tmp_path / "run") == []


@case("unwritable-run-folder")
def test_run_folder_that_cannot_be_created(train_data, tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder\n")
    cfg = train_config(tmp_path / "cfg.yaml", train_data)
    _train(cfg, blocker / "run").one_error(1, f"cannot create {blocker / 'run'}: {blocker} is a file, not a folder")
    assert blocker.read_text() == "a file, not a folder\n"


def _net(path):
    return torch.load(path, map_location="cpu", weights_only=True)["net"]


@case("kill-train")
def test_kill_9_in_training_then_resume_gives_the_same_weights(train_data, tmp_path):
    epochs = 6
    last = f"OSTrack_ep{epochs:04d}.pth.tar"
    cfg = train_config(tmp_path / "cfg.yaml", train_data, optim={"epochs": epochs, "lr_drop_epoch": 4},
                       run={"save_every": 0, "save_last": 1})
    reference = tmp_path / "reference"
    assert _train(cfg, reference).rc == 0

    out = tmp_path / "killed"
    latest = out / "checkpoints" / "latest.pth.tar"
    proc = subprocess.Popen([sys.executable, "-m", "loretrack_plugin", "train", "--config", cfg, "--output-dir",
                             str(out), "--no-progress"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            cwd=str(tmp_path))
    try:
        deadline = time.monotonic() + 180
        while not latest.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        assert proc.poll() is None, "training ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
    assert not (out / "checkpoints" / last).exists() and not (out / "stats.json").exists()
    for p in glob.glob(str(out / "checkpoints" / "*.pth.tar")):   # what is there loads: written atomically
        _net(p)

    res = _train(cfg, out, "--resume")
    assert res.rc == 0 and res.errors == [], res.errors
    a, b = _net(reference / "checkpoints" / last), _net(out / "checkpoints" / last)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert temps_under(out) == []
