"""The TraX server (loretrack_plugin.trackers.vot_trax) spoken to with the real TraX client, no toolkit."""
import os
import subprocess
import sys
import threading
import time

import cv2
import numpy as np
import pytest
from trax import TraxException
from trax.client import Client
from trax.image import FileImage
from trax.region import Polygon, Rectangle

from loretrack_plugin.trackers import make_tracker

MODULE = "loretrack_plugin.trackers.vot_trax"


class Server:
    """A server subprocess plus a connected TraX client."""

    def __init__(self, args=(), env=None):
        full_env = dict(os.environ)
        full_env.update(env or {})
        self.proc = subprocess.Popen([sys.executable, "-m", MODULE, *args], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=full_env, bufsize=0)
        self.log = []
        self.client = Client(stream=(self.proc.stdin.fileno(), self.proc.stdout.fileno()), log=self.log.append)

    def initialize(self, path, region):
        objects, _ = self.client.initialize({"color": FileImage.create(path)}, [(region, {})], {})
        return objects

    def frame(self, path):
        objects, _ = self.client.frame({"color": FileImage.create(path)}, {}, [])
        return objects

    def wait(self, timeout=30):
        return self.proc.wait(timeout)

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def _reply(objects):
    """A server reply -> ((x, y, w, h), confidence)."""
    assert len(objects) == 1, "a single-object tracker answers exactly one object"
    region, props = objects[0]
    return region.bounds(), float(dict(props)["confidence"])


@pytest.fixture(scope="module")
def biker(real_otb_root):
    root = os.path.join(real_otb_root, "Biker")
    frames = [os.path.join(root, "img", f"{i:04d}.jpg") for i in range(1, 9)]
    with open(os.path.join(root, "groundtruth_rect.txt")) as f:
        boxes = [[float(v) for v in line.replace("\t", ",").split(",")] for line in f if line.strip()]
    return frames, boxes


def _rgb(path):
    return cv2.cvtColor(cv2.imread(path), cv2.COLOR_BGR2RGB)


def test_server_runs_the_tracker_with_repeated_initialize(tiny_tracker, biker):
    frames, boxes = biker
    # configured through the environment only, as trackers.ini entries do
    srv = Server(env={"LORETRACK_VOT_TRACKER": tiny_tracker["yaml"], "LORETRACK_VOT_BACKEND": "eager"})
    try:
        assert srv.client.region_formats == ["rectangle"]
        assert srv.client.channels == ["color"]
        assert srv.client.get("multiobject") is False

        ref = make_tracker(tiny_tracker["yaml"], backend="eager")
        # run 1: init on frame 0 with the ground truth, track frames 1..3
        box0, conf0 = _reply(srv.initialize(frames[0], Rectangle.create(*boxes[0])))
        assert np.allclose(box0, boxes[0]) and conf0 == 1.0
        ref.init(_rgb(frames[0]), boxes[0])
        for path in frames[1:4]:
            box, conf = _reply(srv.frame(path))
            want_box, want_score = ref.update(_rgb(path))
            assert np.allclose(box, want_box, atol=1e-3), (box, want_box)  # TraX sends 4 decimals
            assert conf == pytest.approx(want_score, abs=2e-6) and 0.0 <= conf <= 1.0

        # run 2, same process: a polygon ground truth reaches the tracker as its bounding box
        pts = [(250.0, 80.0), (280.0, 84.0), (276.0, 122.0), (247.0, 118.0)]
        bbox = [247.0, 80.0, 33.0, 42.0]
        box4, conf4 = _reply(srv.initialize(frames[4], Polygon.create(pts)))
        assert np.allclose(box4, bbox) and conf4 == 1.0
        ref.init(_rgb(frames[4]), bbox)
        for path in frames[5:8]:
            box, conf = _reply(srv.frame(path))
            want_box, want_score = ref.update(_rgb(path))
            assert np.allclose(box, want_box, atol=1e-3), (box, want_box)
            assert conf == pytest.approx(want_score, abs=2e-6)

        srv.client.quit()
        assert srv.wait() == 0
    finally:
        srv.close()


def test_unreadable_frame_mid_sequence_ends_the_session_with_a_reason(tiny_tracker, biker, tmp_path):
    frames, boxes = biker
    srv = Server(["--tracker", tiny_tracker["yaml"], "--backend", "eager"])
    try:
        srv.initialize(frames[0], Rectangle.create(*boxes[0]))
        srv.frame(frames[1])
        missing = str(tmp_path / "gone.jpg")
        with pytest.raises(TraxException, match="cannot read frame .*gone.jpg"):
            srv.frame(missing)
        assert srv.wait() == 1
    finally:
        srv.close()


def test_bad_checkpoint_is_reported_on_initialize(tiny_tracker, biker, tmp_path):
    frames, boxes = biker
    bad = tmp_path / "broken.pth.tar"
    bad.write_bytes(b"\x80\x02not a checkpoint" * 100)
    srv = Server(["--tracker", tiny_tracker["yaml"], "--checkpoint", str(bad)])
    try:
        t0 = time.monotonic()
        with pytest.raises(TraxException, match="Server terminated the session: tiny-lore: .*broken.pth.tar"):
            srv.initialize(frames[0], Rectangle.create(*boxes[0]))
        assert srv.wait() == 1
        assert time.monotonic() - t0 < 60
    finally:
        srv.close()


def test_unknown_tracker_exits_before_the_handshake():
    proc = subprocess.Popen([sys.executable, "-m", MODULE, "--tracker", "no-such-tracker"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0)
    outcome = {}

    def connect():
        try:
            Client(stream=(proc.stdin.fileno(), proc.stdout.fileno()), log=lambda s: None)
            outcome["result"] = "connected"
        except TraxException as e:
            outcome["result"] = f"error: {e}"

    t = threading.Thread(target=connect, daemon=True)
    t.start()
    t.join(120)
    try:
        # a client connecting to it gets an error instead of waiting forever
        assert not t.is_alive(), "the client hangs on a server that died before the handshake"
        assert outcome["result"].startswith("error"), outcome
        assert proc.wait(30) == 2
        lines = proc.stderr.read().decode().strip().splitlines()
        assert len(lines) == 1 and "unknown tracker 'no-such-tracker'" in lines[0], lines
    finally:
        if proc.poll() is None:
            proc.kill()


def test_server_runs_an_opencv_peer(biker):
    """opencv-nano behind the same TraX server: the boxes and scores of the tracker run in this process;
    the workspace's --backend (LoReTrack's engine) does not stop it."""
    frames, boxes = biker
    srv = Server(env={"LORETRACK_VOT_TRACKER": "opencv-nano", "LORETRACK_VOT_THREADS": "1",
                      "LORETRACK_VOT_BACKEND": "eager"})
    try:
        ref = make_tracker("opencv-nano", threads=1)
        box0, conf0 = _reply(srv.initialize(frames[0], Rectangle.create(*boxes[0])))
        assert np.allclose(box0, boxes[0]) and conf0 == 1.0
        ref.init(_rgb(frames[0]), boxes[0])
        for path in frames[1:6]:
            box, conf = _reply(srv.frame(path))
            want_box, want_score = ref.update(_rgb(path))
            assert np.allclose(box, want_box, atol=1e-3), (box, want_box)
            assert conf == pytest.approx(want_score, abs=2e-6) and 0.0 <= conf <= 1.0
        srv.client.quit()
        assert srv.wait() == 0
    finally:
        srv.close()


@pytest.mark.parametrize("args, msg", [
    (["--tracker", "opencv-mil", "--checkpoint", "/nowhere/model_backbone.onnx"], "has no model file"),
    (["--tracker", "opencv-nano", "--checkpoint", "/nowhere/nano_backbone.onnx"],
     "backbone ONNX file not found: /nowhere/nano_backbone.onnx"),
])
def test_peer_input_is_checked_before_the_handshake(args, msg):
    proc = subprocess.run([sys.executable, "-m", MODULE, *args], stdin=subprocess.DEVNULL, capture_output=True,
                          timeout=120)
    lines = proc.stderr.decode().strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and msg in lines[0], lines
