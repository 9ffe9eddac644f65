"""OpenCV's trackers as named trackers beside LoReTrack: the CPU peers of every comparison.

Reserved names (like ``static-box``, they are resolved before any tracker file):

* ``opencv-nano``: ``cv2.TrackerNano`` running NanoTrack v2, the two ONNX files shipped in
  ``weights/opencv/`` (Apache-2.0; source and hashes in the README and PROVENANCE.json there);
* ``opencv-mil``: ``cv2.TrackerMIL``;
* ``opencv-csrt``, ``opencv-kcf``: ``cv2.TrackerCSRT`` / ``cv2.TrackerKCF``, which only the contrib
  build of OpenCV has (``opencv-contrib-python``). It replaces ``opencv-python`` rather than sitting
  beside it: two OpenCV wheels write the same ``cv2`` folder. Asked for where the installed ``cv2``
  lacks them, they stop with one line naming the tracker and that package.

OpenCV's other trackers need model files this package does not ship (``TrackerVit``,
``TrackerDaSiamRPN``, ``TrackerGOTURN``), so they have no name here.

A peer goes wherever a named tracker goes: ``get_spec`` gives its :class:`PeerSpec`, ``make_tracker``
its :class:`OpenCVPeer`, which has :class:`~loretrack_plugin.tracking.TrackerCore`'s interface
(``init(frame, box)``, ``update(frame) -> (box, score)``, frames as RGB arrays or PIL images), so the
got10k adapter, the TraX server, ``loretrack eval`` and ``loretrack bench`` run it as they run LoReTrack.

* Threads: ``threads=n`` calls ``cv2.setNumThreads(n)`` (process-wide) before every target; None keeps
  OpenCV's default. The count OpenCV then runs with is recorded either way (:meth:`OpenCVPeer.describe`,
  which ``tracker_info.json`` and ``loretrack bench`` report).
* Every target gets a fresh OpenCV tracker, so a result does not depend on what was tracked before.
  NanoTrack, CSRT and KCF compute the same boxes from the same frames; MIL draws its training samples
  from a generator that OpenCV seeds itself, so its boxes differ from run to run by a pixel or so
  (``deterministic`` False: got10k's GOT-10k experiment runs it three times, as it does any such tracker).
* Boxes: OpenCV takes integer rectangles: the initial box is rounded (width and height at least 1
  pixel). Where OpenCV reports the target lost, the last box is kept (a toolkit needs a box per
  frame) and the score is 0; otherwise the score is the tracker's ``getTrackingScore()`` where it
  computes one (NanoTrack), else 1.
* ``checkpoint`` of ``opencv-nano``: the backbone ONNX file; the neck/head file is the one beside it
  whose name has ``head`` for ``backbone``. The other peers have no model file and take none.
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import numpy as np

WEIGHTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "weights", "opencv")
MAIN_BUILD, CONTRIB_BUILD = "opencv-python", "opencv-contrib-python"
#: the pip distributions that install a ``cv2`` package (each replaces the others' files)
CV2_DISTRIBUTIONS = (MAIN_BUILD, CONTRIB_BUILD, "opencv-python-headless", "opencv-contrib-python-headless")
FAMILY = "OpenCV"


@dataclass(frozen=True)
class PeerSpec:
    """A CPU peer: which ``cv2`` tracker class runs it and which OpenCV build provides that class.

    It answers the questions asked of a :class:`~loretrack_plugin.trackers.TrackerSpec` (``network``
    None, no crop factors, no loop options, backend ``opencv``), so code written for named trackers
    reads it as it is.
    """
    name: str
    cv2_class: str
    provider: str
    description: str
    checkpoint: Optional[str] = None   # the model file, for the peers that have one
    threads: Optional[int] = None
    deterministic: bool = True         # the same boxes from the same frames
    network = None
    search_factor = None
    template_factor = None
    source = None
    backend = "opencv"

    @property
    def loop(self) -> Dict[str, object]:
        return {}

    @property
    def has_model_file(self) -> bool:
        return self.checkpoint is not None

    def replace(self, **kw) -> "PeerSpec":
        return dataclasses.replace(self, **kw)


PEERS: Dict[str, PeerSpec] = {p.name: p for p in (
    PeerSpec("opencv-nano", "TrackerNano", MAIN_BUILD,
             "OpenCV TrackerNano: NanoTrack v2 (MobileNetV3 Siamese tracker, ONNX; 127/255 px template/search)",
             checkpoint=os.path.join(WEIGHTS_DIR, "nanotrack_backbone_sim.onnx")),
    PeerSpec("opencv-mil", "TrackerMIL", MAIN_BUILD, "OpenCV TrackerMIL: multiple-instance learning on Haar features",
             deterministic=False),
    PeerSpec("opencv-csrt", "TrackerCSRT", CONTRIB_BUILD,
             "OpenCV TrackerCSRT: discriminative correlation filter with channel and spatial reliability"),
    PeerSpec("opencv-kcf", "TrackerKCF", CONTRIB_BUILD, "OpenCV TrackerKCF: kernelized correlation filter"),
)}


def is_peer(name) -> bool:
    return isinstance(name, PeerSpec) or (isinstance(name, str) and name in PEERS)


def cv2_distributions() -> List[str]:
    """The installed pip distributions that provide the ``cv2`` package (one, or they overwrite each other)."""
    from importlib import metadata
    found = []
    for dist in CV2_DISTRIBUTIONS:
        try:
            metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
        found.append(dist)
    return found


def _cv2():
    import cv2
    return cv2


def _tracker_class(spec: PeerSpec):
    """``cv2.<class>``, or ValueError in one line naming the tracker and the package that has it."""
    cv2 = _cv2()
    cls = getattr(cv2, spec.cv2_class, None)
    if cls is None:
        have = ", ".join(cv2_distributions()) or "an OpenCV build of unknown origin"
        raise ValueError(f"tracker {spec.name!r} needs cv2.{spec.cv2_class}, which the installed OpenCV "
                         f"{cv2.__version__} ({have}) lacks: it comes with {spec.provider} (install it in place "
                         f"of {have}, never beside it)")
    return cls


def model_files(spec: PeerSpec, checkpoint: Optional[str] = None) -> Tuple[str, ...]:
    """The files a peer loads (absolute paths, each checked to exist): NanoTrack's backbone and neck/head."""
    if not spec.has_model_file:
        if checkpoint is not None:
            raise ValueError(f"tracker {spec.name!r} (OpenCV {spec.cv2_class}) has no model file: it takes no "
                             f"checkpoint, got {checkpoint}")
        return ()
    backbone = os.path.abspath(os.path.expanduser(os.fspath(checkpoint if checkpoint is not None else spec.checkpoint)))
    folder, base = os.path.split(backbone)
    if "backbone" not in base:
        raise ValueError(f"tracker {spec.name!r}: {backbone}: the backbone ONNX file's name must contain "
                         "'backbone' (its neck/head file beside it has 'head' in its place)")
    files = (backbone, os.path.join(folder, base.replace("backbone", "head")))
    for role, path in zip(("backbone", "neck/head"), files):
        if not os.path.isfile(path):
            raise FileNotFoundError(f"tracker {spec.name!r}: {role} ONNX file not found: {path}")
    return files


@contextlib.contextmanager
def _quiet_opencv(cv2):
    """OpenCV's DNN module logs a warning per network it loads (targets of its graph engine): not ours to show."""
    log = getattr(getattr(cv2, "utils", None), "logging", None)
    if log is None:
        yield
        return
    level = log.getLogLevel()
    log.setLogLevel(log.LOG_LEVEL_ERROR)
    try:
        yield
    finally:
        log.setLogLevel(level)


def _check_threads(threads) -> Optional[int]:
    if threads is None:
        return None
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1:
        raise ValueError(f"threads: expected a positive integer or None, got {threads!r}")
    return int(threads)


class OpenCVPeer:
    """One OpenCV tracker behind TrackerCore's interface (see the module docstring)."""

    def __init__(self, spec: PeerSpec, checkpoint: Optional[str] = None, threads: Optional[int] = None):
        self.spec = spec
        self.name = spec.name
        self.threads = _check_threads(threads if threads is not None else spec.threads)
        self._class = _tracker_class(spec)
        self.files = model_files(spec, checkpoint)
        self._tracker = None
        self.box: Optional[np.ndarray] = None
        self.lost_frames = 0
        self._set_threads()
        self._new()  # a model file OpenCV cannot read fails here, not on the first frame

    @property
    def backend_name(self) -> str:
        return f"opencv {_cv2().__version__} {self.spec.cv2_class}"

    def _set_threads(self) -> int:
        cv2 = _cv2()
        if self.threads is not None:
            cv2.setNumThreads(self.threads)
        return cv2.getNumThreads()

    def _new(self):
        cv2 = _cv2()
        if not self.files:
            return self._class.create()
        params = getattr(cv2, f"{self.spec.cv2_class}_Params")()
        params.backbone, params.neckhead = self.files
        try:
            with _quiet_opencv(cv2):
                return self._class.create(params)
        except cv2.error as e:
            detail = " ".join(str(e).split())[:200]
            raise ValueError(f"tracker {self.name!r}: OpenCV cannot load its ONNX files {', '.join(self.files)} "
                             f"({detail})") from None

    @staticmethod
    def _bgr(image) -> np.ndarray:
        from ..formats.images import to_rgb_uint8
        return np.ascontiguousarray(to_rgb_uint8(image)[:, :, ::-1])

    def init(self, image, box) -> None:
        """Start tracking the (x, y, w, h) ``box`` of ``image`` (RGB array or PIL image)."""
        from ..tracking.inputs import check_init_box
        frame = self._bgr(image)
        x, y, w, h = check_init_box(box, *frame.shape[:2])  # as TrackerCore checks it: one line naming the box
        cv2 = _cv2()
        self._set_threads()
        tracker = self._new()
        rect = (int(round(x)), int(round(y)), max(1, int(round(w))), max(1, int(round(h))))
        with _quiet_opencv(cv2):
            tracker.init(frame, rect)
        self._tracker = tracker
        self.box = np.asarray([x, y, w, h], dtype=np.float64)
        self.lost_frames = 0

    def update(self, image) -> Tuple[np.ndarray, float]:
        """``(box (x, y, w, h) float64, score)`` on the next frame."""
        if self._tracker is None:
            raise RuntimeError(f"tracker {self.name!r}: update before init")
        found, rect = self._tracker.update(self._bgr(image))
        if not found:
            self.lost_frames += 1
            return self.box.copy(), 0.0
        self.box = np.asarray(rect, dtype=np.float64)
        return self.box.copy(), self._score()

    def _score(self) -> float:
        get = getattr(self._tracker, "getTrackingScore", None)
        try:
            score = float(get()) if get is not None else None
        except _cv2().error:   # declared by the interface, not computed by every tracker
            score = None
        # a tracker that computes no score answers -1 (MIL): found is all it says
        return score if score is not None and np.isfinite(score) and score >= 0 else 1.0

    def describe(self) -> Dict[str, object]:
        """What ``tracker_info.json`` and the bench record about this peer."""
        cv2 = _cv2()
        return {"family": FAMILY, "opencv": cv2.__version__, "opencv_distribution": ", ".join(cv2_distributions()),
                "opencv_class": f"cv2.{self.spec.cv2_class}", "opencv_threads": cv2.getNumThreads(),
                "threads_requested": self.threads, "model_files": list(self.files)}


def make_peer(name_or_spec, checkpoint: Optional[str] = None, backend: Optional[str] = None,
              threads: Optional[int] = None) -> OpenCVPeer:
    """The :class:`OpenCVPeer` of a peer name or spec; ``backend`` must be empty or ``opencv``."""
    spec = name_or_spec if isinstance(name_or_spec, PeerSpec) else PEERS[name_or_spec]
    if backend not in (None, "", "auto", PeerSpec.backend):
        raise ValueError(f"tracker {spec.name!r} runs on OpenCV: backend {backend!r} does not apply to it")
    return OpenCVPeer(spec, checkpoint=checkpoint, threads=threads)


__all__ = ["PEERS", "PeerSpec", "OpenCVPeer", "is_peer", "make_peer", "model_files", "cv2_distributions",
           "WEIGHTS_DIR", "MAIN_BUILD", "CONTRIB_BUILD"]
