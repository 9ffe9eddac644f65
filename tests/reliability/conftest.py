"""Inputs for the bad-input catalogue, all made in pytest's temporary folders, and a command-line runner
that returns what a user would see: the exit status and the error lines."""
import contextlib
import glob
import io
import logging
import os
import shutil
from dataclasses import dataclass, field
from typing import List

import pytest
import yaml

from loretrack_plugin import build_net, save_checkpoint
from loretrack_plugin.cli import main
from loretrack_plugin.synthetic import make_dataset
from tests.conftest import tiny_net_kwargs

FRAME_SIZE = (96, 72)   # (W, H) of every synthetic frame
N_FRAMES = 6            # frames per evaluation sequence


# ------------------------------------------------------------------------------------ the runner

class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.errors: List[str] = []
        self.warnings: List[str] = []

    def emit(self, record):
        (self.errors if record.levelno >= logging.ERROR else self.warnings).append(record.getMessage())


@dataclass
class Outcome:
    rc: int
    stdout: str
    stderr: str
    errors: List[str] = field(default_factory=list)     # `loretrack X: error: ...` lines and ERROR log lines
    warnings: List[str] = field(default_factory=list)

    def one_error(self, rc: int, *fragments: str) -> str:
        """Assert exit status ``rc`` and exactly one error line, containing every fragment; return it."""
        assert self.rc == rc, f"exit status {self.rc}, expected {rc}; errors: {self.errors}"
        assert len(self.errors) == 1, f"expected one error line, got {self.errors}"
        line = self.errors[0]
        assert "\n" not in line
        for f in fragments:
            assert str(f) in line, f"{f!r} not in the error line {line!r}"
        return line


def run_cli(*argv) -> Outcome:
    """``loretrack ARGV`` in this process, as a user runs it: stderr and stdout captured, log records
    collected (the command's log lines go to stderr in a real run). A traceback fails the test."""
    handler = _Collect()
    root = logging.getLogger()
    root.addHandler(handler)
    err, out = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            rc = main([os.fspath(a) for a in argv])
    finally:
        root.removeHandler(handler)
    text = err.getvalue()
    assert "Traceback" not in text, text
    printed = [ln for ln in text.replace("\r", "\n").splitlines() if ": error:" in ln]
    return Outcome(rc, out.getvalue(), text, printed + handler.errors, handler.warnings)


def files_under(*folders) -> List[str]:
    """Every file under ``folders`` (absent folders hold none), temporary ones included."""
    out = []
    for d in folders:
        out += [p for p in glob.glob(os.path.join(os.fspath(d), "**", "*"), recursive=True) if os.path.isfile(p)]
        out += [p for p in glob.glob(os.path.join(os.fspath(d), "**", ".*"), recursive=True) if os.path.isfile(p)]
    return sorted(set(out))


def temps_under(*folders) -> List[str]:
    """Half-written leftovers: temporary files of the atomic writers."""
    return [p for p in files_under(*folders) if p.endswith(".tmp")]


# ------------------------------------------------------------------------------------ the inputs

@dataclass
class Tiny:
    yaml: str          # tracker file (name tiny-64, eager, one thread)
    checkpoint: str
    folder: str
    name: str = "tiny-64"


@pytest.fixture(scope="session")
def tiny(tmp_path_factory) -> Tiny:
    """A random-weights 64/32 px network (width 64, 2 blocks) saved with save_checkpoint, and its tracker file."""
    import torch
    d = tmp_path_factory.mktemp("tiny")
    torch.manual_seed(0)
    save_checkpoint(build_net(search_size=64, template_size=32, **tiny_net_kwargs()), str(d / "tiny.pth.tar"), epoch=1)
    (d / "tiny-64.yaml").write_text("name: tiny-64\nsearch_factor: 4.0\ntemplate_factor: 2.0\n"
                                    "checkpoint: ./tiny.pth.tar\nbackend: eager\nthreads: 1\n")
    return Tiny(str(d / "tiny-64.yaml"), str(d / "tiny.pth.tar"), str(d))


@pytest.fixture(scope="session")
def otb_base(tmp_path_factory) -> str:
    """Two OTB-layout sequences (Basketball, Biker) of 6 frames, 96x72; copy before changing anything."""
    root = tmp_path_factory.mktemp("otb") / "otb"
    make_dataset("otb", str(root), 2, N_FRAMES, seed=1, image_size=FRAME_SIZE)
    return str(root)


@pytest.fixture
def otb(otb_base, tmp_path) -> str:
    """A private copy of the two-sequence OTB-layout dataset."""
    root = str(tmp_path / "data")
    shutil.copytree(otb_base, root)
    return root


@pytest.fixture(scope="session")
def lasot_base(tmp_path_factory) -> str:
    """Two LaSOT-layout test sequences of 6 frames (absent rows written as 0,0,0,0)."""
    root = tmp_path_factory.mktemp("lasot") / "lasot"
    make_dataset("lasot", str(root), 2, N_FRAMES, seed=1, image_size=FRAME_SIZE)
    return str(root)


@pytest.fixture(scope="session")
def train_data(tmp_path_factory) -> str:
    """Three OTB-layout sequences of 24 frames, 128x96, for training."""
    root = tmp_path_factory.mktemp("train") / "otb"
    make_dataset("otb", str(root), 3, 24, seed=2, image_size=(128, 96))
    return str(root)


def eval_args(root, out, tracker, *extra, benchmark="otb-dir"):
    """``loretrack eval`` arguments with results and reports under ``out``; no report unless asked."""
    report = "--report" in extra
    extra = [e for e in extra if e != "--report"]
    return ["eval", "--benchmark", benchmark, "--root", root, "--trackers", tracker,
            "--result-dir", os.path.join(out, "results"), "--report-dir", os.path.join(out, "reports"),
            *([] if report else ["--no-report"]), *extra]


def train_config(path, data_root, output_dir=None, **over) -> str:
    """A tiny training config (student 64/32, teacher 128/64, width 64, 2 blocks; 2 steps of 4 per epoch)
    written to ``path``; ``over``: top-level sections merged in."""
    net = tiny_net_kwargs()
    cfg = {
        "name": "reliability",
        "model": dict(search_size=64, template_size=32, drop_path_rate=0.0, **net),
        "teacher": dict(search_size=128, template_size=64, **net),
        "data": {"train": {"datasets": [{"type": "otb", "root": os.fspath(data_root)}], "samples_per_epoch": 8},
                 "search": {"center_jitter": 1.0, "scale_jitter": 0.1}, "num_workers": 0},
        "optim": {"batch_size": 4, "epochs": 2, "lr_drop_epoch": 2},
        "run": {"progress": False, "tensorboard": False, "log_every": 1, "threads": 1},
    }
    if output_dir is not None:
        cfg["run"]["output_dir"] = os.fspath(output_dir)
    for k, v in over.items():
        cfg[k] = {**cfg.get(k, {}), **v}
    with open(path, "w") as f:
        yaml.safe_dump(cfg, f)
    return os.fspath(path)
