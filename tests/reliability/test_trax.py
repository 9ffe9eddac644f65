"""Catalogue: the VOT toolkit's side -- a TraX client that goes away in the middle of a sequence."""
import glob
import os
import subprocess
import sys

from .catalogue import case


# the toolkit's side in its own process, which dies after one frame without a quit (a crash, a kill)
CLIENT = """
import os, sys
from trax.client import Client
from trax.image import FileImage
from trax.region import Rectangle
write_fd, read_fd, first, second = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
box = [float(v) for v in sys.argv[5].split(",")]
client = Client(stream=(write_fd, read_fd), log=lambda _: None)
client.initialize({"color": FileImage.create(first)}, [(Rectangle.create(*box), {})], {})
client.frame({"color": FileImage.create(second)}, {}, [])
os._exit(0)
"""


@case("trax-disconnect")
def test_client_disconnecting_mid_sequence_ends_the_server_with_one_line(tiny, otb_base):
    frames = sorted(glob.glob(os.path.join(otb_base, "Biker", "img", "*.jpg")))
    with open(os.path.join(otb_base, "Biker", "groundtruth_rect.txt")) as f:
        box = f.readline().strip()
    to_server_r, to_server_w = os.pipe()
    to_client_r, to_client_w = os.pipe()
    server = subprocess.Popen([sys.executable, "-m", "loretrack_plugin.trackers.vot_trax", "--tracker", tiny.yaml],
                              stdin=to_server_r, stdout=to_client_w, stderr=subprocess.PIPE)
    client = subprocess.Popen([sys.executable, "-c", CLIENT, str(to_server_w), str(to_client_r), frames[0], frames[1],
                               box], pass_fds=(to_server_w, to_client_r))
    for fd in (to_server_r, to_server_w, to_client_r, to_client_w):
        os.close(fd)   # only the two processes hold the pipe ends now
    try:
        assert client.wait(120) == 0
        assert server.wait(120) == 1
        lines = [ln for ln in server.stderr.read().decode().splitlines() if ln.strip()]
        assert len(lines) == 1 and lines[0].startswith(f"{tiny.name}: TraX session lost"), lines
    finally:
        for proc in (client, server):
            if proc.poll() is None:
                proc.kill()
                proc.wait(30)
        server.stderr.close()
