"""``evaluate()``: run trackers on a benchmark (resumable, parallel, sharded), then report.

Outputs, with ``F`` the benchmark's got10k folder (``LaSOT``, ``LaSOT_ext``, ``GOT-10k``,
``GOT-10k-test``, ``TrackingNet``, ``OTB2015``, ``UAV123``, ``NfS/30``, ``OTB`` for otb-dir):

* ``<result_dir>/F/<tracker>/...`` raw results in got10k's layout and ``tracker_info.json``;
* ``<report_dir>/F/<first tracker>/performance.json`` and plots, written by the got10k experiment;
* ``<report_dir>/<benchmark>/metrics.json`` (see :mod:`.summary`);
* test splits: the submission zip ``<result_dir>/F/<tracker>.zip``.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from ..utils.files import check_writable
from .benchmarks import Benchmark, get_benchmark
from .benchmark_readers import quiet, warn_missing
from .runner import (STATIC_BOX, STATIC_BOX_FACTORY, RunSummary, Task, TrackerRef, is_complete, result_paths,
                     run_tasks, shard_sequences)
from .summary import build_metrics, write_metrics

log = logging.getLogger("loretrack")


@dataclass
class EvalResult:
    benchmark: str
    experiment: object
    trackers: List[str]
    sequences: List[str]                    # selected (all shards)
    evaluated: List[str]                    # complete for every tracker, reported
    missing: Dict[str, List[str]]           # tracker -> selected sequences without valid results
    run: RunSummary
    metrics_file: Optional[str] = None
    performance: Optional[dict] = None
    submissions: Dict[str, str] = field(default_factory=dict)


def select_sequences(names: Sequence[str], wanted: Optional[Sequence[str]], dataset_missing: Sequence[str]) -> List[str]:
    """Restrict to ``wanted`` (in dataset order); unknown or absent names are one error."""
    if not wanted:
        return list(names)
    wanted = [w.strip() for w in wanted if w.strip()]
    gone, known = set(dataset_missing), set(names)
    absent = [w for w in wanted if w in gone]
    unknown = [w for w in wanted if w not in known and w not in gone]
    if absent:
        raise ValueError(f"--sequences: {', '.join(absent)} not on disk")
    if unknown:
        shown = ", ".join(list(names)[:8]) + (" ..." if len(names) > 8 else "")
        raise ValueError(f"--sequences: unknown sequence(s) {', '.join(unknown)} (this dataset has: {shown})")
    keep = set(wanted)
    return [n for n in names if n in keep]


def _tasks(bench: Benchmark, exp, trackers: Sequence[TrackerRef], names: Sequence[str],
           frames: Dict[str, Tuple[List[str], list]]) -> Tuple[List[Task], int]:
    tasks, skipped = [], 0
    for t in trackers:
        reps = 1 if (bench.layout != "got10k" or t.deterministic) else exp.repetitions
        info_file = os.path.join(exp.result_dir, t.name, "tracker_info.json")
        for seq in names:
            img_files, anno = frames[seq]
            records, time_file = result_paths(bench.layout, exp.result_dir, t.name, seq, reps)
            if is_complete(records, time_file, len(img_files)):
                skipped += 1
                continue
            tasks.append(Task(t, seq, list(img_files), [float(v) for v in anno[0]], records, time_file, info_file))
    return tasks, skipped


def _load_all(exp, names: Sequence[str]) -> Dict[str, Tuple[List[str], list]]:
    out = {}
    ds = exp.dataset
    for seq in names:
        try:
            item = ds[ds.index(seq)]
        except (AssertionError, OSError, ValueError, KeyError) as e:
            raise ValueError(f"cannot load sequence {seq} from {ds.seq_dirs[ds.index(seq)]}: "
                             f"{e or 'frame and box counts differ'}") from None
        img_files, anno = item[0], item[1]
        if not img_files:
            raise FileNotFoundError(f"sequence {seq}: no frames in {ds.seq_dirs[ds.index(seq)]}")
        _check_first_box(ds, seq, img_files[0], anno[0])
        out[seq] = (img_files, anno)
    return out


def _check_first_box(ds, seq: str, first_frame: str, box) -> None:
    """The initial box must be a box inside the first frame: one error naming the annotation file,
    before anything runs (every tracker would fail on it)."""
    from ..formats import CorruptImageError, image_size
    from ..tracking.inputs import check_init_box
    i = ds.index(seq)
    files = getattr(ds, "anno_files", None)
    source = files[i] if files and i < len(files) else ds.seq_dirs[i]
    try:
        width, height = image_size(first_frame)
    except CorruptImageError as e:
        raise ValueError(f"sequence {seq}: {e}") from None
    try:
        check_init_box(box, height, width)
    except ValueError as e:
        raise ValueError(f"sequence {seq}: the first box of {source} cannot start a tracker: {e}") from None


def _warn_changed_trackers(exp, trackers: Sequence[TrackerRef]) -> None:
    """Finished results are kept on resume: say so when they came from other weights."""
    import json
    for t in trackers:
        path = os.path.join(exp.result_dir, t.name, "tracker_info.json")
        if not os.path.isfile(path):
            continue
        with open(path) as f:
            old = json.load(f)
        if old.get("checkpoint") != t.checkpoint:
            log.warning("%s: existing results in %s were written with checkpoint %s, this run uses %s; finished "
                        "sequences are not re-run (use another --result-dir to start afresh)", t.name,
                        os.path.dirname(path), old.get("checkpoint"), t.checkpoint)
        if "search_factor" not in old:
            continue
        for key, value in _loop_options(t).items():
            if old.get(key) != value:
                log.warning("%s: existing results in %s were written with %s %s, this run uses %s; finished "
                            "sequences are not re-run (use another --result-dir to start afresh)", t.name,
                            os.path.dirname(path), key, old.get(key), value)


def _loop_options(t: TrackerRef) -> dict:
    """The tracking-loop options of a named tracker (``max_size_change``...; all None = the official
    loop, also for factories and the floor)."""
    from ..tracking.core import LOOP_OPTIONS
    from ..trackers import get_spec
    official = dict.fromkeys(LOOP_OPTIONS)
    if t.is_factory or t.ref in (STATIC_BOX, STATIC_BOX_FACTORY):
        return official
    try:
        return get_spec(t.ref).loop
    except (ValueError, OSError):
        return official


def evaluate(benchmark: str, root: str, trackers: Sequence[TrackerRef], result_dir: str = "results",
             report_dir: str = "reports", workers: int = 1, shard: Optional[Tuple[int, int]] = None,
             sequences: Optional[Sequence[str]] = None, exclude_invalid_frames: bool = False,
             report: bool = True, threads: Optional[int] = None) -> EvalResult:
    """Run ``trackers`` on ``benchmark`` at ``root``, resume-aware, then write reports and metrics.json.

    The report covers the selected sequences that have valid results for every tracker (after a
    sharded run, the shards finished so far); the others are listed per tracker as missing.
    """
    bench = get_benchmark(benchmark)
    root = os.path.abspath(os.path.expanduser(root))
    if not os.path.isdir(root):
        raise FileNotFoundError(f"dataset root not found: {root}")
    names_seen = set()
    for t in trackers:
        if t.name in names_seen:
            raise ValueError(f"tracker name {t.name!r} given twice (results would overwrite each other)")
        names_seen.add(t.name)
    exp = bench.make(root, os.path.abspath(result_dir), os.path.abspath(report_dir))
    ds = exp.dataset
    dataset_missing = list(getattr(ds, "missing", []))
    warn_missing(benchmark, dataset_missing, len(ds.seq_names) + len(dataset_missing))
    selected = select_sequences(ds.seq_names, sequences, dataset_missing)
    frames = _load_all(exp, selected)
    # an output folder that cannot be written is one error now, not one failure per sequence later
    check_writable(exp.result_dir)
    if report:
        check_writable(report_dir)
    mine = shard_sequences(selected, [len(frames[s][0]) for s in selected], shard)
    if shard:
        log.info("%s: shard %d/%d runs %d of %d sequences", benchmark, shard[0], shard[1], len(mine), len(selected))

    _warn_changed_trackers(exp, trackers)
    tasks, skipped = _tasks(bench, exp, trackers, mine, frames)
    if skipped:
        log.info("%s: %d finished tracker x sequence results found, skipped", benchmark, skipped)
    summary = run_tasks(tasks, workers=workers, desc=f"{benchmark}", threads=threads)
    summary.skipped = skipped
    if summary.done:
        log.info("%s: ran %d tracker x sequence tasks, %d frames, %.1f fps", benchmark, summary.done, summary.frames,
                 summary.frames / summary.seconds if summary.seconds > 0 else float("nan"))

    missing: Dict[str, List[str]] = {}
    for t in trackers:
        reps = 1 if (bench.layout != "got10k" or t.deterministic) else exp.repetitions
        missing[t.name] = [s for s in selected if not is_complete(*result_paths(bench.layout, exp.result_dir, t.name, s,
                                                                                 reps), len(frames[s][0]))]
    incomplete = set().union(*missing.values()) if missing else set()
    evaluated = [s for s in selected if s not in incomplete]
    res = EvalResult(benchmark, exp, [t.name for t in trackers], selected, evaluated, missing, summary)
    for name, m in missing.items():
        if m:
            log.warning("%s: %s has no valid results for %d sequence(s), left out of the report: %s", benchmark, name,
                        len(m), ", ".join(m[:12]) + (" ..." if len(m) > 12 else ""))
    if not report:
        return res
    if not evaluated:
        log.warning("%s: no sequence has results for every tracker yet: no report", benchmark)
        return res

    ds.restrict(evaluated)
    names = [t.name for t in trackers]
    import matplotlib.pyplot as plt
    if bench.has_ground_truth:
        with quiet():
            perf = exp.report(names)
        plt.close("all")
        if hasattr(ds, "return_meta"):
            ds.return_meta = False  # ExperimentGOT10k.report leaves it on
        res.performance = perf
        folder = os.path.join(exp.report_dir, names[0])
        log.info("%s: got10k report in %s", benchmark, folder)
    else:
        exp.report(names)
        res.submissions = {n: os.path.join(exp.result_dir, n + ".zip") for n in names}
    metrics = build_metrics(bench, exp, root, names, evaluated, missing, dataset_missing,
                            performance=res.performance if bench.layout == "got10k" else None,
                            exclude_invalid_frames=exclude_invalid_frames, submissions=res.submissions)
    res.metrics_file = write_metrics(os.path.abspath(report_dir), benchmark, metrics)
    log.info("%s: metrics in %s", benchmark, res.metrics_file)
    return res
