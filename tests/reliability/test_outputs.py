"""Catalogue: where ``loretrack eval`` writes -- an unwritable result folder, a full disk, ``kill -9``."""
import errno
import glob
import os
import signal
import subprocess
import sys
import time

import numpy as np

from loretrack_plugin.synthetic import make_dataset
from loretrack_plugin.utils import files

from .catalogue import case
from .conftest import FRAME_SIZE, eval_args, files_under, run_cli, temps_under


@case("unwritable-result-folder")
def test_result_folder_that_cannot_be_created(tiny, otb, tmp_path):
    # a file where a folder should be: refused before anything runs (chmod would not stop root)
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder\n")
    results = blocker / "results"
    res = run_cli("eval", "--benchmark", "otb-dir", "--root", otb, "--trackers", tiny.yaml, "--no-report",
                  "--result-dir", results)
    res.one_error(1, f"cannot write {results}", f"{blocker} is a file, not a folder")
    assert blocker.read_text() == "a file, not a folder\n"


@case("disk-full")
def test_disk_full_while_writing_results(tiny, otb, tmp_path, monkeypatch):
    out = tmp_path / "out"
    results = str(out / "results")
    real_fsync = os.fsync

    def full_disk(fd):  # ENOSPC where a full disk reports it for a small file: when the data is flushed
        if os.readlink(f"/proc/self/fd/{fd}").startswith(results):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", full_disk)
    res = run_cli(*eval_args(otb, out, tiny.yaml))
    line = res.one_error(1, "cannot write", os.path.join(results, "OTB", tiny.name), "No space left on device")
    assert line.endswith(".txt: No space left on device")
    assert files_under(out) == []   # the run stopped at the first write and removed what it had begun


def _records(results, tracker):
    return {os.path.basename(p): p for p in glob.glob(os.path.join(results, "OTB", tracker, "*.txt"))}


@case("kill-eval")
def test_kill_9_in_eval_then_the_same_command_again(tiny, tmp_path):
    seqs, frames = 6, 20
    root = str(tmp_path / "data")
    make_dataset("otb", root, seqs, frames, seed=5, image_size=FRAME_SIZE)
    reference = str(tmp_path / "reference")
    assert run_cli(*eval_args(root, reference, tiny.yaml)).rc == 0
    expected = _records(os.path.join(reference, "results"), tiny.name)
    assert len(expected) == seqs

    out = str(tmp_path / "killed")
    results = os.path.join(out, "results")
    proc = subprocess.Popen([sys.executable, "-m", "loretrack_plugin", *eval_args(root, out, tiny.yaml)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=str(tmp_path))
    try:
        deadline = time.monotonic() + 120
        while not _records(results, tiny.name) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        assert proc.poll() is None, "eval ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
    done = _records(results, tiny.name)
    assert 0 < len(done) < seqs, f"the kill landed after {len(done)} of {seqs} sequences"
    for p in done.values():   # what is there is whole: every file written atomically
        assert np.loadtxt(p, delimiter=",").shape == (frames, 4)
    # a kill during a write leaves the writer's temporary file (rarely hit by chance): plant one
    name = sorted(expected)[-1]
    stale = os.path.join(results, "OTB", tiny.name, f".{name}.{proc.pid}@{files._HOST}.k9x2m4q1.tmp")
    with open(stale, "w") as f:
        f.write("0,0,")

    res = run_cli(*eval_args(root, out, tiny.yaml))
    assert res.rc == 0 and res.errors == [], res.errors
    again = _records(results, tiny.name)
    assert set(again) == set(expected)
    for name, p in expected.items():
        with open(p, "rb") as a, open(again[name], "rb") as b:
            assert a.read() == b.read(), name
    assert temps_under(out) == []
