"""Fixtures for the VOT toolkit tests: a tiny saved LoReTrack, hand-made VOT sequences, a guarded `vot` runner."""
import os
import signal
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch

from loretrack_plugin import build_net, save_checkpoint
from tests.conftest import tiny_net_kwargs

BIN = os.path.dirname(sys.executable)
VOT = os.path.join(BIN, "vot")
LORETRACK = os.path.join(BIN, "loretrack")


def toolkit_available() -> bool:
    try:
        import vot.experiment  # noqa: F401
        return True
    except Exception:  # noqa: BLE001 - not installed, or broken by attributee 0.1.10
        return False


needs_toolkit = pytest.mark.skipif(not toolkit_available(), reason="vot-toolkit is not importable")


@pytest.fixture(scope="session")
def tiny_tracker(tmp_path_factory):
    """A random-weights 64/32 px LoReTrack saved with save_checkpoint, and a tracker .yaml that reads its
    network from that checkpoint: {'yaml', 'checkpoint', 'net'}."""
    d = tmp_path_factory.mktemp("tiny_tracker")
    torch.manual_seed(0)
    net = build_net(search_size=64, template_size=32, **tiny_net_kwargs())
    ckpt = str(d / "tiny.pth.tar")
    save_checkpoint(net, ckpt, epoch=1)
    spec = d / "tiny-lore.yaml"
    spec.write_text("name: tiny-lore\nsearch_factor: 4.0\ntemplate_factor: 2.0\n"
                    f"checkpoint: {ckpt}\nbackend: eager\nthreads: 1\n")
    return {"yaml": str(spec), "checkpoint": ckpt, "net": net}


def write_vot_sequence(root, name, boxes, size=(160, 120), anchors=None, seed=0):
    """A VOT-layout sequence: noise frames with a bright square drawn at each box, ground truth, anchors."""
    rng = np.random.default_rng(seed)
    d = os.path.join(root, name)
    os.makedirs(os.path.join(d, "color"), exist_ok=True)
    W, H = size
    for i, (x, y, w, h) in enumerate(boxes):
        img = rng.integers(0, 60, (H, W, 3), dtype=np.uint8)
        img[int(y):int(y + h), int(x):int(x + w)] = (40, 200, 230)
        cv2.imwrite(os.path.join(d, "color", f"{i + 1:08d}.jpg"), img)
    with open(os.path.join(d, "groundtruth.txt"), "w") as f:
        f.writelines(f"{x:g},{y:g},{w:g},{h:g}\n" for x, y, w, h in boxes)
    with open(os.path.join(d, "sequence"), "w") as f:
        f.write(f"channels.color=color/%08d.jpg\nfps=30\nwidth={W}\nheight={H}\nlength={len(boxes)}\n")
    if anchors is not None:
        with open(os.path.join(d, "anchor.value"), "w") as f:
            f.writelines(f"{a}\n" for a in anchors)
    list_file = os.path.join(root, "list.txt")
    names = open(list_file).read().split() if os.path.isfile(list_file) else []
    with open(list_file, "w") as f:
        f.write("\n".join(names + [name]) + "\n")
    return d


def run_guarded(cmd, cwd, timeout, env=None):
    """Run ``cmd`` in its own process group; fail the test (after killing the whole group, tracker
    processes included) if it has not finished within ``timeout`` seconds. Returns (rc, output)."""
    full_env = dict(os.environ, MPLBACKEND="Agg", PYTHONUNBUFFERED="1")
    full_env.update(env or {})
    p = subprocess.Popen(cmd, cwd=cwd, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         start_new_session=True)
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, _ = p.communicate()
        tail = out.decode(errors="replace")[-3000:]
        pytest.fail(f"`{' '.join(map(str, cmd))}` hung: no exit after {timeout} s\n{tail}")
    return p.returncode, out.decode(errors="replace")


def run_vot(args, workspace, timeout=120, env=None):
    return run_guarded([VOT] + list(args), cwd=workspace, timeout=timeout, env=env)
