"""VOT toolkit adapter: a TraX server around a named tracker.

Run by the toolkit (``protocol = traxpython``, ``command = loretrack_plugin.trackers.vot_trax``) or by hand::

    python -m loretrack_plugin.trackers.vot_trax --tracker loretrack-128 [--checkpoint P] [--backend B] [--threads N]

``--tracker`` may also name one of OpenCV's trackers (``opencv-nano``, ``opencv-mil``, ...,
:mod:`.opencv_peers`): the same server runs it, with OpenCV's threads set by ``--threads``; ``--backend``
(LoReTrack's inference engine) does not apply to it, and ``--checkpoint`` only to ``opencv-nano`` (its
backbone ONNX file).

Every option can also come from the environment (``LORETRACK_VOT_TRACKER``, ``LORETRACK_VOT_CHECKPOINT``,
``LORETRACK_VOT_BACKEND``, ``LORETRACK_VOT_THREADS``), which is how ``loretrack vot-setup`` configures it:
``env_*`` lines in ``trackers.ini`` keep the command a plain module name, with no shell quoting of paths.
Command-line options win over the environment.

Protocol (the raw ``trax.Server`` loop; the official ``vot.py`` wrapper at HEAD breaks single-object
trackers, see docs/toolkits.md §2.2):

* formats: RECTANGLE regions, PATH images, the ``color`` channel. Polygon and mask ground truth reach us
  as their bounding boxes (TraX converts them because RECTANGLE is the only format offered);
* ``initialize`` (any number of them in one process: multistart anchors, re-initialisation after a
  failure) restarts the tracker on that frame and box and answers the box with confidence 1;
  the network is built once, on the first ``initialize``, so model loading runs under the toolkit's
  ``timeout`` watchdog rather than the unguarded handshake;
* ``frame`` answers ``(x, y, w, h)`` and ``confidence`` = the raw score at the chosen peak;
* any error (unknown tracker and missing checkpoint before the handshake; a checkpoint that does not
  load, an unreadable frame, a crash inside the network afterwards) ends the process with a non-zero
  status, after a TraX ``quit`` carrying a one-line reason when the session is up. The toolkit reports
  it as a tracker error instead of waiting for its timeout.
"""
from __future__ import annotations

import argparse
import logging
import math
import os
import sys
from typing import Callable, Optional, Sequence, Tuple

from ..formats import read_rgb
from .opencv_peers import FAMILY as OPENCV_FAMILY
from .registry import is_peer
from .stem_reference import FAMILY as REFERENCE_FAMILY
from .stem_reference import is_reference

log = logging.getLogger("loretrack")

DEFAULT_TRACKER = "loretrack-256"
ENV = {"tracker": "LORETRACK_VOT_TRACKER", "checkpoint": "LORETRACK_VOT_CHECKPOINT",
       "backend": "LORETRACK_VOT_BACKEND", "threads": "LORETRACK_VOT_THREADS"}
PROG = "loretrack vot_trax"


def _finite_box(box) -> Tuple[float, float, float, float]:
    vals = tuple(float(v) for v in box)
    if len(vals) != 4 or not all(math.isfinite(v) for v in vals):
        raise RuntimeError(f"tracker produced an invalid box {vals}")
    return vals


class Session:
    """One tracker behind TraX requests: ``initialize(path, box)`` / ``frame(path)`` -> (box, confidence).

    ``factory()`` builds the tracker (``init(rgb, box)`` / ``update(rgb) -> (box, score)``) on the first
    ``initialize``; later ones re-initialise the same object, which keeps the network and backend.
    """

    def __init__(self, factory: Callable[[], object]):
        self._factory = factory
        self.tracker = None
        self.initialized = False

    def initialize(self, path: str, box: Sequence[float]) -> Tuple[Tuple[float, ...], float]:
        image = read_rgb(path)
        if self.tracker is None:
            self.tracker = self._factory()
        self.initialized = False
        self.tracker.init(image, list(box))
        self.initialized = True
        return _finite_box(box), 1.0

    def frame(self, path: str) -> Tuple[Tuple[float, ...], float]:
        if not self.initialized:
            raise RuntimeError("frame request before a successful initialize")
        box, score = self.tracker.update(read_rgb(path))
        return _finite_box(box), float(score)


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split()) or type(e).__name__
    return text if isinstance(e, (ValueError, FileNotFoundError, RuntimeError)) else f"{type(e).__name__}: {text}"


def serve(session: Session, name: str = "loretrack", family: str = "LoReTrack") -> int:
    """Answer TraX requests on stdin/stdout until the client quits; 0 on a clean end, 1 on an error."""
    import trax

    server = trax.Server([trax.Region.RECTANGLE], [trax.Image.PATH], ["color"], tracker_name=name,
                         tracker_family=family)
    reason = None
    try:
        while True:
            request = server.wait()
            if request.type in (trax.TraxStatus.QUIT, trax.TraxStatus.ERROR):
                break
            path = request.image["color"].path()
            if request.type == trax.TraxStatus.INITIALIZE or request.objects:
                # a frame request that carries objects starts the target anew, like an initialize
                region, _ = request.objects[0]
                box, confidence = session.initialize(path, region.bounds())
            else:
                box, confidence = session.frame(path)
            server.status([(trax.Rectangle.create(*box), {"confidence": f"{confidence:.6f}"})])
    except trax.TraxException as e:  # the client went away: nobody left to tell
        log.error("%s: TraX session lost: %s", name, _one_line(e))
        return 1
    except Exception as e:  # noqa: BLE001 - every tracker failure must reach the toolkit as a TraX quit
        reason = f"{name}: {_one_line(e)}"
        log.debug("%s failed", name, exc_info=True)
        print(reason, file=sys.stderr, flush=True)
    try:
        server.quit(reason=reason)
    except trax.TraxException:
        pass
    return 0 if reason is None else 1


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description="TraX server for the VOT toolkit around a named tracker. "
                                "Options default to the LORETRACK_VOT_* environment variables.")
    p.add_argument("--tracker", default=os.environ.get(ENV["tracker"]) or DEFAULT_TRACKER,
                   help=f"tracker name or absolute path to a tracker .yaml (default ${ENV['tracker']} "
                        f"or {DEFAULT_TRACKER})")
    p.add_argument("--checkpoint", default=os.environ.get(ENV["checkpoint"]) or None,
                   help=f"weights file; overrides the tracker's default (${ENV['checkpoint']})")
    p.add_argument("--backend", default=os.environ.get(ENV["backend"]) or None,
                   help=f"inference backend: auto, eager, openvino, onnxruntime, onednn, bf16 (${ENV['backend']})")
    p.add_argument("--threads", default=os.environ.get(ENV["threads"]) or None,
                   help=f"CPU threads for inference (${ENV['threads']})")
    return p


def _prepare(args) -> Tuple[object, Callable[[], object]]:
    """Check the cheap things before the handshake; return (spec, factory that builds the tracker)."""
    from . import get_spec, make_tracker
    from ..tracking.backends import check_tracker_backend

    spec = get_spec(args.tracker)
    backend = check_tracker_backend(args.backend) if args.backend else None
    threads = None
    if args.threads not in (None, ""):
        try:
            threads = int(args.threads)
        except ValueError:
            raise ValueError(f"--threads: expected a positive integer, got {args.threads!r}") from None
        if threads < 1:
            raise ValueError(f"--threads: expected a positive integer, got {threads}")
    if is_peer(spec):
        # an OpenCV tracker: OpenCV has it and its model files load, checked before the handshake
        # (a workspace's --backend for every entry is LoReTrack's engine: not this tracker's)
        checkpoint = os.path.abspath(os.path.expanduser(args.checkpoint)) if args.checkpoint else None
        peer = make_tracker(spec, checkpoint=checkpoint, threads=threads)
        return spec, lambda: peer
    checkpoint = None
    if args.checkpoint:
        checkpoint = os.path.abspath(os.path.expanduser(args.checkpoint))
        if not os.path.isfile(checkpoint):
            raise FileNotFoundError(f"checkpoint file not found: {checkpoint} (--checkpoint / ${ENV['checkpoint']})")
    elif spec.checkpoint is None or not os.path.isfile(spec.checkpoint):
        raise FileNotFoundError(f"tracker {spec.name!r}: default checkpoint not found "
                                f"({spec.checkpoint or 'none set'}); pass --checkpoint")
    return spec, lambda: make_tracker(spec, checkpoint=checkpoint, backend=backend, threads=threads)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(message)s")
    try:
        spec, factory = _prepare(args)
    except (ValueError, FileNotFoundError) as e:
        print(f"{PROG}: error: {_one_line(e)}", file=sys.stderr, flush=True)
        return 2
    family = REFERENCE_FAMILY if is_reference(spec) else OPENCV_FAMILY if is_peer(spec) else "LoReTrack"
    return serve(Session(factory), name=spec.name, family=family)


if __name__ == "__main__":
    sys.exit(main())
