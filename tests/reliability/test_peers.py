"""Catalogue: bad input to OpenCV's trackers (the CPU peers), through ``loretrack eval`` and the TraX server."""
import glob
import os
import shutil
import subprocess
import sys

import cv2

from loretrack_plugin.trackers.opencv_peers import CONTRIB_BUILD, WEIGHTS_DIR

from .catalogue import case
from .conftest import eval_args, files_under, run_cli


def _nothing_written(out):
    assert files_under(out) == [], files_under(out)


@case("peer-missing-onnx")
def test_nano_without_its_neck_head_file(otb, tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    shutil.copy(os.path.join(WEIGHTS_DIR, "nanotrack_backbone_sim.onnx"), models)
    out = tmp_path / "out"
    res = run_cli(*eval_args(otb, out, "opencv-nano", "--checkpoint",
                             f"opencv-nano={models / 'nanotrack_backbone_sim.onnx'}"))
    res.one_error(2, "tracker 'opencv-nano': neck/head ONNX file not found:", models / "nanotrack_head_sim.onnx")
    _nothing_written(out)


@case("peer-not-in-opencv")
def test_a_tracker_the_installed_opencv_lacks(otb, tmp_path, monkeypatch):
    monkeypatch.delattr(cv2, "TrackerCSRT", raising=False)  # as in the opencv-python build, whatever is installed
    out = tmp_path / "out"
    res = run_cli(*eval_args(otb, out, "opencv-nano,opencv-csrt"))
    res.one_error(2, "tracker 'opencv-csrt' needs cv2.TrackerCSRT", f"it comes with {CONTRIB_BUILD}")
    _nothing_written(out)


# the toolkit's side: initialize with a zero-size box, then wait for the server's answer
CLIENT = """
import sys
from trax import TraxException
from trax.client import Client
from trax.image import FileImage
from trax.region import Rectangle
write_fd, read_fd, frame = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
client = Client(stream=(write_fd, read_fd), log=lambda _: None)
try:
    client.initialize({"color": FileImage.create(frame)}, [(Rectangle.create(10, 10, 0, 5), {})], {})
except TraxException as e:
    print(e)
    sys.exit(0)
sys.exit(3)
"""


@case("peer-zero-size-box")
def test_zero_size_box_given_to_a_peer(otb, tmp_path):
    # through eval: refused before anything runs, for every tracker alike
    gt = os.path.join(otb, "Biker", "groundtruth_rect.txt")
    with open(gt) as f:
        rows = f.read().splitlines()
    with open(gt, "w") as f:
        f.write("\n".join(["10,10,0,0"] + rows[1:]) + "\n")
    out = tmp_path / "out"
    res = run_cli(*eval_args(otb, out, "opencv-nano"))
    res.one_error(2, "sequence Biker: the first box of", gt, "width and height must be positive")
    _nothing_written(out)
    # through the TraX server: it stops with one line naming the tracker and the box
    frame = sorted(glob.glob(os.path.join(otb, "Basketball", "img", "*.jpg")))[0]
    to_server_r, to_server_w = os.pipe()
    to_client_r, to_client_w = os.pipe()
    server = subprocess.Popen([sys.executable, "-m", "loretrack_plugin.trackers.vot_trax", "--tracker", "opencv-nano"],
                              stdin=to_server_r, stdout=to_client_w, stderr=subprocess.PIPE)
    client = subprocess.Popen([sys.executable, "-c", CLIENT, str(to_server_w), str(to_client_r), frame],
                              pass_fds=(to_server_w, to_client_r), stdout=subprocess.PIPE)
    for fd in (to_server_r, to_server_w, to_client_r, to_client_w):
        os.close(fd)
    try:
        assert client.wait(120) == 0, "the client got no error for a zero-size box"
        assert server.wait(120) == 1
        lines = [ln for ln in server.stderr.read().decode().splitlines() if ln.strip()]
        assert len(lines) == 1, lines
        assert lines[0].startswith("opencv-nano: init box [10.0, 10.0, 0.0, 5.0]: width and height must be positive")
        assert "init box" in client.stdout.read().decode()
    finally:
        for proc in (client, server):
            if proc.poll() is None:
                proc.kill()
                proc.wait(30)
        server.stderr.close()
        client.stdout.close()


def test_a_peer_without_model_file_refuses_a_checkpoint(otb, tmp_path):
    out = tmp_path / "out"
    res = run_cli(*eval_args(otb, out, "opencv-mil", "--checkpoint", f"opencv-mil={tmp_path / 'x_backbone.onnx'}"))
    res.one_error(2, "tracker 'opencv-mil'", "has no model file: it takes no checkpoint")
    _nothing_written(out)
