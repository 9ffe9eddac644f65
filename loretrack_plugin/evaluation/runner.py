"""Resumable, parallel, shardable running of trackers over a benchmark's sequences.

* One task = one tracker on one sequence. Its result files are written atomically in got10k's
  layout, so got10k's ``report`` reads them and a killed run never leaves a truncated file:

  - OTB-style (OTB, UAV123, NfS, LaSOT, TrackingNet, OTB folders): ``<seq>.txt`` (``%.3f`` x,y,w,h,
    first row = init box) and ``times/<seq>_time.txt`` (``%.8f`` seconds per frame);
  - GOT-10k: ``<seq>/<seq>_00r.txt`` per repetition r and ``<seq>/<seq>_time.txt`` (one column per
    repetition; 3 repetitions for trackers that are not deterministic).

* Resuming: a task whose result and time files exist with one row per frame is skipped; a file with
  the wrong number of rows (or unreadable) is re-run.
* ``workers > 1`` runs tasks in spawned processes; each worker builds its own trackers from their
  :class:`TrackerRef` (names and paths travel, never tracker objects).
* ``--shard i/n``: sequences are split into n groups of about equal frame count (longest first, to
  the lightest group; deterministic), and shard i (1..n) runs group i.
* Per-frame times are measured around ``init``/``update`` only, as in got10k's ``Tracker.track``,
  with the frame decoded before the clock starts (got10k hands over a lazily opened PIL image, so
  its times include the JPEG decode); trackers that override ``track`` are called through it.
* A frame that cannot be decoded fails its task with one line naming the frame (the other tasks go
  on); an output file that cannot be written (full disk, unwritable folder) stops the whole run.
"""
from __future__ import annotations

import importlib
import logging
import multiprocessing
import os
import re
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..formats import CorruptImageError, read_rgb
from ..utils.files import WriteError, atomic_open, write_json
from .static_box import FACTORY as STATIC_BOX_FACTORY
from .static_box import STATIC_BOX, StaticBoxTracker

log = logging.getLogger("loretrack")

_FACTORY_RE = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


@dataclass(frozen=True)
class TrackerRef:
    """How to build a tracker in any process.

    ``ref`` is a named tracker, a tracker YAML path, or ``package.module:callable`` -- the hook for
    custom got10k trackers: ``callable()`` (or ``callable(checkpoint=...)`` when a checkpoint is
    given) must return a ``got10k.trackers.Tracker``.
    """
    ref: str
    name: str
    checkpoint: Optional[str] = None
    backend: Optional[str] = None
    threads: Optional[int] = None
    deterministic: bool = True

    @property
    def is_factory(self) -> bool:
        return bool(_FACTORY_RE.match(self.ref))


def static_box_ref() -> TrackerRef:
    """The :class:`TrackerRef` of the built-in static box (:mod:`.static_box`): the floor of every comparison."""
    return TrackerRef(STATIC_BOX_FACTORY, STATIC_BOX, deterministic=True)


def _call_factory(ref: str, checkpoint: Optional[str]):
    mod_name, attr = ref.split(":")
    try:
        factory = getattr(importlib.import_module(mod_name), attr)
    except (ImportError, AttributeError) as e:
        raise ValueError(f"tracker {ref!r}: cannot import {attr} from {mod_name} ({e})") from None
    return factory(checkpoint=checkpoint) if checkpoint else factory()


def build_tracker(t: TrackerRef):
    """The got10k Tracker for ``t`` (a named tracker through ``build_got10k_tracker``)."""
    if t.ref == STATIC_BOX:  # the reserved name, however the ref was written
        return StaticBoxTracker()
    if t.is_factory:
        return _call_factory(t.ref, t.checkpoint)
    from ..trackers import build_got10k_tracker
    return build_got10k_tracker(t.ref, checkpoint=t.checkpoint, backend=t.backend, threads=t.threads)


def resolve_tracker(ref: str, checkpoint: Optional[str] = None, backend: Optional[str] = None,
                    threads: Optional[int] = None) -> TrackerRef:
    """Turn a ``--trackers`` entry into a :class:`TrackerRef` (validates it; builds nothing heavy).

    ``static-box`` is reserved: the built-in floor tracker (:mod:`.static_box`), which takes no checkpoint.
    So are the OpenCV peers (``opencv-nano``...; :mod:`loretrack_plugin.trackers.opencv_peers`): built
    once here, so that an OpenCV without the tracker or a missing model file stops the run before it
    writes anything; ``backend`` does not apply to them.
    """
    if ref == STATIC_BOX:
        if checkpoint is not None:
            raise ValueError(f"tracker {STATIC_BOX!r} (the built-in static box) takes no checkpoint")
        return static_box_ref()
    if _FACTORY_RE.match(ref):
        tracker = _call_factory(ref, checkpoint)
        return TrackerRef(ref, tracker.name, checkpoint, backend, threads, bool(tracker.is_deterministic))
    from ..trackers import get_spec, is_peer, make_tracker
    spec = get_spec(ref)
    if is_peer(spec):
        # checked here, before anything is written: the installed OpenCV has it, its model files load.
        # --backend picks LoReTrack's inference engine: a peer runs on OpenCV whatever it says
        ckpt = os.path.abspath(os.path.expanduser(checkpoint)) if checkpoint is not None else None
        make_tracker(spec, checkpoint=ckpt, threads=threads)
        return TrackerRef(spec.name, spec.name, ckpt, None, threads, spec.deterministic)
    ckpt = checkpoint if checkpoint is not None else spec.checkpoint
    if ckpt is None:
        raise ValueError(f"tracker {spec.name!r} has no default checkpoint: pass --checkpoint {ref}=PATH")
    ckpt = os.path.abspath(os.path.expanduser(ckpt))
    if not os.path.isfile(ckpt):
        raise FileNotFoundError(f"checkpoint for tracker {spec.name!r} not found: {ckpt} "
                                f"(pass --checkpoint {ref}=PATH or set LORETRACK_WEIGHTS)")
    ref_path = os.path.abspath(ref) if os.path.isfile(ref) else ref
    return TrackerRef(ref_path, spec.name, ckpt, backend, threads, True)


def tracker_info(t: TrackerRef, tracker=None) -> dict:
    """What the report needs about a tracker: spec (network config, factors), checkpoint, backend."""
    info = {"name": t.name, "ref": t.ref, "checkpoint": t.checkpoint, "backend": t.backend, "threads": t.threads,
            "network": None, "search_factor": None, "template_factor": None, "description": "",
            "deterministic": t.deterministic}
    if t.ref in (STATIC_BOX, STATIC_BOX_FACTORY):
        info["description"] = "built-in floor: the first frame's box kept on every frame (no speed measured)"
    elif not t.is_factory:
        from ..trackers import get_spec
        spec = get_spec(t.ref)
        info.update(network=spec.network.to_dict() if spec.network is not None else None,
                    search_factor=spec.search_factor, template_factor=spec.template_factor,
                    description=spec.description, backend=t.backend or spec.backend,
                    threads=t.threads if t.threads is not None else spec.threads, source=spec.source,
                    **spec.loop)
    core = getattr(tracker, "core", None)
    if core is not None and callable(getattr(core, "describe", None)):  # an OpenCV peer: its version, threads, files
        info.update(core.describe())
    if core is not None:
        cfg = getattr(core, "cfg", None)
        if cfg is not None and hasattr(cfg, "to_dict"):
            info["network"] = cfg.to_dict()
        resolved = getattr(core, "backend_name", None)
        if resolved:
            info["backend_resolved"] = resolved
    return info


# --------------------------------------------------------------------------------- result files

def result_paths(layout: str, exp_result_dir: str, tracker: str, seq: str, repetitions: int = 1):
    """(record files, time file) of one tracker on one sequence in got10k's layout."""
    base = os.path.join(exp_result_dir, tracker)
    if layout == "got10k":
        return ([os.path.join(base, seq, "%s_%03d.txt" % (seq, r + 1)) for r in range(repetitions)],
                os.path.join(base, seq, "%s_time.txt" % seq))
    return [os.path.join(base, "%s.txt" % seq)], os.path.join(base, "times", "%s_time.txt" % seq)


def _rows(path: str, cols: Optional[int], delimiter=None) -> Optional[np.ndarray]:
    if not os.path.isfile(path):
        return None
    try:
        a = np.loadtxt(path, delimiter=delimiter, ndmin=2)
    except (ValueError, OSError):
        return None
    if cols is not None and a.shape[1] != cols:
        return None
    return a


def is_complete(records: Sequence[str], time_file: str, n_frames: int) -> bool:
    """Every record file has ``n_frames`` rows of 4 numbers and the time file ``n_frames`` rows."""
    for r in records:
        a = _rows(r, 4, ",")
        if a is None or len(a) != n_frames:
            return False
    t = _rows(time_file, len(records), ",")
    return t is not None and len(t) == n_frames


def write_results(records: Sequence[str], time_file: str, boxes: Sequence[np.ndarray],
                  times: Sequence[np.ndarray]) -> None:
    """Atomically write one record file per repetition, then the time file (a column per repetition)."""
    for path, b in zip(records, boxes):
        with atomic_open(path) as f:
            np.savetxt(f, np.asarray(b, dtype=np.float64).reshape(-1, 4), fmt="%.3f", delimiter=",")
    with atomic_open(time_file) as f:
        np.savetxt(f, np.stack([np.asarray(t, np.float64) for t in times], axis=1), fmt="%.8f", delimiter=",")


# ------------------------------------------------------------------------------------- running

def read_frame(path: str):
    """A frame file -> RGB PIL image, decoded as got10k decodes it
    (:func:`loretrack_plugin.formats.read_rgb` with the Pillow decoder: 16- and 32-bit frames are
    scaled to 8 bits instead of being clipped to white). A frame that cannot be read raises
    :class:`~loretrack_plugin.formats.CorruptImageError` naming it."""
    from PIL import Image
    return Image.fromarray(read_rgb(path, decoder="pil"))


def describe_error(e: BaseException) -> str:
    """One line for a failed task: input errors name their file already; others get their type."""
    return str(e) if isinstance(e, (CorruptImageError, WriteError)) else f"{type(e).__name__}: {e}"


def track_sequence(tracker, img_files: Sequence[str], box, on_frame: Optional[Callable[[], None]] = None):
    """``(boxes (N, 4), times (N,))`` like got10k's ``Tracker.track``: row 0 = init box, times cover
    ``init``/``update`` only. A tracker that overrides ``track`` is called through it."""
    from got10k.trackers import Tracker
    if type(tracker).track is not Tracker.track:
        boxes, times = tracker.track(list(img_files), np.asarray(box, np.float64))
        return np.asarray(boxes, np.float64), np.asarray(times, np.float64)
    n = len(img_files)
    boxes = np.zeros((n, 4))
    boxes[0] = box
    times = np.zeros(n)
    for f, path in enumerate(img_files):
        image = read_frame(path)
        start = time.time()
        if f == 0:
            tracker.init(image, np.asarray(box, np.float64))
        else:
            boxes[f, :] = tracker.update(image)
        times[f] = time.time() - start
        if on_frame is not None:
            on_frame()
    return boxes, times


@dataclass
class Task:
    """One tracker on one sequence, with everything a worker needs (picklable)."""
    tracker: TrackerRef
    seq: str
    img_files: List[str]
    init_box: List[float]
    records: List[str]
    time_file: str
    info_file: str

    @property
    def n_frames(self) -> int:
        return len(self.img_files)


_WORKER_TRACKERS: Dict[TrackerRef, object] = {}
_INFO_WRITTEN: set = set()


def _worker_init(threads: Optional[int]) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    if threads:
        import torch
        torch.set_num_threads(threads)


def run_task(task: Task, on_frame: Optional[Callable[[], None]] = None) -> dict:
    """Run one task (all its repetitions) and write its files; returns frames/seconds for the bar."""
    tracker = _WORKER_TRACKERS.get(task.tracker)
    if tracker is None:
        tracker = _WORKER_TRACKERS[task.tracker] = build_tracker(task.tracker)
    all_boxes, all_times = [], []
    for _ in task.records:
        b, t = track_sequence(tracker, task.img_files, task.init_box, on_frame)
        if b.shape != (task.n_frames, 4):
            raise RuntimeError(f"tracker {task.tracker.name} returned {b.shape[0]} boxes for {task.n_frames} frames")
        all_boxes.append(b)
        all_times.append(t)
    write_results(task.records, task.time_file, all_boxes, all_times)
    if task.info_file not in _INFO_WRITTEN:
        # after a sequence, so that the backend 'auto' picked on the first init is recorded
        write_json(task.info_file, tracker_info(task.tracker, tracker))
        _INFO_WRITTEN.add(task.info_file)
    seconds = float(np.sum(all_times))
    return {"frames": task.n_frames * len(task.records), "seconds": seconds}


def _run_task_safe(task: Task) -> dict:
    try:
        return run_task(task)
    except WriteError as e:  # the output folder refuses: the parent stops the run
        return {"error": str(e), "write_error": (e.errno, e.strerror, e.filename)}
    except Exception as e:  # reported per task by the parent; the other sequences go on
        return {"error": describe_error(e), "traceback": traceback.format_exc()}


@dataclass
class RunSummary:
    done: int = 0
    skipped: int = 0
    failed: List[Tuple[str, str, str]] = field(default_factory=list)   # (tracker, seq, error)
    frames: int = 0         # frames with a measured time (the static box has none): fps = frames / seconds
    seconds: float = 0.0


def run_tasks(tasks: Sequence[Task], workers: int = 1, desc: str = "eval", threads: Optional[int] = None) -> RunSummary:
    """Run ``tasks`` (skipping none: filter finished ones first) with a progress bar over them."""
    from tqdm import tqdm
    summary = RunSummary()
    if not tasks:
        return summary

    def finish(task: Task, res: dict, bar) -> None:
        if "error" in res:
            summary.failed.append((task.tracker.name, task.seq, res["error"]))
            log.error("%s on %s failed: %s", task.tracker.name, task.seq, res["error"])
            log.debug("%s", res.get("traceback", ""))
        else:
            summary.done += 1
            if res["seconds"] > 0:  # untimed frames (the static box) would inflate the overall fps
                summary.frames += res["frames"]
                summary.seconds += res["seconds"]
                bar.set_postfix_str(f"{task.tracker.name} {task.seq} {res['frames'] / res['seconds']:.1f} fps")
            else:
                bar.set_postfix_str(f"{task.tracker.name} {task.seq} (untimed)")
        bar.update(1)

    # build every tracker once here: a bad checkpoint is one clear error, not one failure per sequence
    for t in dict.fromkeys(task.tracker for task in tasks):
        try:
            tracker = build_tracker(t)
        except (ValueError, FileNotFoundError, ImportError, RuntimeError) as e:
            raise ValueError(f"tracker {t.name!r} cannot be built: {e}") from None
        if workers <= 1:
            _WORKER_TRACKERS[t] = tracker
        del tracker

    with tqdm(total=len(tasks), desc=desc, unit="seq", dynamic_ncols=True) as bar:
        if workers <= 1:
            for task in tasks:
                bar.set_postfix_str(f"{task.tracker.name} {task.seq} ...")
                with tqdm(total=task.n_frames * len(task.records), desc=f"  {task.tracker.name} {task.seq}",
                          unit="fr", leave=False, dynamic_ncols=True) as fbar:
                    try:
                        res = run_task(task, on_frame=lambda: fbar.update(1))
                    except (KeyboardInterrupt, WriteError):  # a full disk fails every task alike: stop
                        raise
                    except Exception as e:
                        res = {"error": describe_error(e), "traceback": traceback.format_exc()}
                finish(task, res, bar)
            return summary
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_init,
                                 initargs=(threads,)) as pool:
            pending = {pool.submit(_run_task_safe, t): t for t in tasks}
            try:
                while pending:
                    finished, _ = wait(list(pending), return_when=FIRST_COMPLETED)
                    for fut in finished:
                        task = pending.pop(fut)
                        try:
                            res = fut.result()
                        except Exception as e:  # a worker died (e.g. killed for memory)
                            res = {"error": f"worker failed: {type(e).__name__}: {e}"}
                        if "write_error" in res:
                            raise WriteError(*res["write_error"])
                        finish(task, res, bar)
            except (KeyboardInterrupt, WriteError):
                for fut in pending:
                    fut.cancel()
                pool.shutdown(wait=False, cancel_futures=True)
                raise
    return summary


# ------------------------------------------------------------------------------------ sharding

def parse_shard(text: Optional[str]) -> Optional[Tuple[int, int]]:
    """``"i/n"`` -> (i, n) with 1 <= i <= n; None passes through."""
    if text is None:
        return None
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(text))
    if not m:
        raise ValueError(f"--shard {text!r}: expected i/n, e.g. 1/4")
    i, n = int(m.group(1)), int(m.group(2))
    if n < 1 or not 1 <= i <= n:
        raise ValueError(f"--shard {text!r}: shards are numbered 1..n (got i={i}, n={n})")
    return i, n


def shard_sequences(names: Sequence[str], frames: Sequence[int], shard: Optional[Tuple[int, int]]) -> List[str]:
    """The names of shard i of n: groups of about equal total frames (longest sequence first, each to
    the lightest group, ties to the lower group), returned in the original order."""
    if shard is None:
        return list(names)
    i, n = shard
    load = [0] * n
    group = {}
    for name, fr in sorted(zip(names, frames), key=lambda p: (-p[1], p[0])):
        g = min(range(n), key=lambda k: (load[k], k))
        group[name] = g
        load[g] += fr
    return [s for s in names if group[s] == i - 1]
