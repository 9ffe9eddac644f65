"""``loretrack eval``: run named trackers on a benchmark with got10k, then report."""
from __future__ import annotations

import logging
import os

from ..cli import UserError

HELP = "run trackers on a benchmark (got10k protocol, offline), write results, performance.json, metrics.json"

log = logging.getLogger("loretrack")


def add_arguments(p):
    from ..evaluation.benchmarks import BENCHMARKS
    p.add_argument("--benchmark", required=True, choices=list(BENCHMARKS),
                   help="; ".join(f"{b.name}: {b.description}" for b in BENCHMARKS.values()))
    p.add_argument("--root", required=True, help="dataset root in the benchmark's layout")
    p.add_argument("--trackers", required=True,
                   help="comma-separated tracker names or tracker .yaml files (`module:callable` for a custom "
                        "got10k Tracker factory); the first one names got10k's report folder. 'static-box' is "
                        "the built-in floor (first box kept), also run automatically unless --no-floor; "
                        "opencv-nano, opencv-mil, opencv-csrt, opencv-kcf are OpenCV's trackers (docs/peers.md)")
    p.add_argument("--checkpoint", action="append", default=[], metavar="NAME=PATH",
                   help="weights for tracker NAME (repeatable; default: the tracker file's checkpoint)")
    p.add_argument("--result-dir", default="results", help="raw results [%(default)s]")
    p.add_argument("--report-dir", default="reports", help="reports and metrics.json [%(default)s]")
    p.add_argument("--workers", type=int, default=1, help="parallel worker processes [%(default)s]")
    p.add_argument("--shard", default=None, metavar="I/N", help="run only shard I of N (1-based) of the sequences")
    p.add_argument("--sequences", default=None, help="comma-separated sequence names (default: all present)")
    p.add_argument("--backend", default=None,
                   help="inference backend for every LoReTrack tracker (default: each tracker's; the OpenCV "
                        "trackers run on OpenCV)")
    p.add_argument("--threads", type=int, default=None,
                   help="inference threads per tracker, torch's or OpenCV's (default: the tracker's, or cores / "
                        "workers with --workers)")
    p.add_argument("--exclude-invalid-frames", action="store_true",
                   help="pytracking numbers over valid frames only (pytracking's exclude_invalid_frames)")
    p.add_argument("--no-report", action="store_true", help="only run; no got10k report, metrics.json or comparison")
    p.add_argument("--no-floor", action="store_true",
                   help="do not run the built-in static-box tracker (the first box kept on every frame) beside "
                        "the trackers; the comparison report then scores it from the ground truth itself")


def _checkpoints(items):
    out = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise UserError(f"--checkpoint {item!r}: expected NAME=PATH")
        out[name.strip()] = path.strip()
    return out


def run(args) -> int:
    os.environ.setdefault("MPLBACKEND", "Agg")
    logging.getLogger("fontTools").setLevel(logging.WARNING)  # PDF font subsetting logs every glyph at INFO
    from ..evaluation import STATIC_BOX, TrackerRef, evaluate, parse_shard, resolve_tracker, static_box_ref
    from ..evaluation.benchmarks import get_benchmark
    if args.workers < 1:
        raise UserError(f"--workers {args.workers}: must be at least 1")
    if args.backend:
        from ..tracking.backends import check_tracker_backend
        try:
            check_tracker_backend(args.backend)
        except ValueError as e:
            raise UserError(f"--backend: {e}") from None
    refs = [r.strip() for r in args.trackers.split(",") if r.strip()]
    if not refs:
        raise UserError("--trackers: no tracker given")
    ckpts = _checkpoints(args.checkpoint)
    threads = args.threads
    if threads is None and args.workers > 1:
        threads = max(1, (os.cpu_count() or 1) // args.workers)
    trackers = []
    for r in refs:
        ck = ckpts.pop(r, None)
        if ck is None and r != STATIC_BOX and not TrackerRef(r, r).is_factory:  # under the tracker's own name
            from ..trackers import get_spec
            ck = ckpts.pop(get_spec(r).name, None)
        trackers.append(resolve_tracker(r, checkpoint=ck, backend=args.backend, threads=threads))
    if ckpts:
        raise UserError(f"--checkpoint for unknown tracker(s) {', '.join(ckpts)} (trackers: {', '.join(refs)})")
    if (not args.no_floor and get_benchmark(args.benchmark).has_ground_truth
            and STATIC_BOX not in [t.name for t in trackers]):
        trackers.append(static_box_ref())  # the floor of the comparison; no frame is decoded for it
    shard = parse_shard(args.shard)
    sequences = args.sequences.split(",") if args.sequences else None
    res = evaluate(args.benchmark, args.root, trackers, result_dir=args.result_dir, report_dir=args.report_dir,
                   workers=args.workers, shard=shard, sequences=sequences,
                   exclude_invalid_frames=args.exclude_invalid_frames, report=not args.no_report,
                   threads=threads if args.workers > 1 else None)
    status = 0
    if res.metrics_file and not args.no_report:
        if get_benchmark(args.benchmark).has_ground_truth:
            status = _comparison_report(args, res)
        _print_table(res)
    if res.run.failed:
        if len(res.run.failed) > 1:  # a single failure was reported in its own line already
            log.error("%d tracker x sequence task(s) failed: %s", len(res.run.failed),
                      "; ".join(f"{t}/{s}" for t, s, _ in res.run.failed[:10]))
        return 1
    return status


def _comparison_report(args, res) -> int:
    from ..report import make_report
    report_dir = os.path.abspath(args.report_dir)
    try:
        make_report(os.path.abspath(args.result_dir), args.benchmark, res.trackers,
                    out_dir=os.path.join(report_dir, args.benchmark, "comparison"), report_dir=report_dir)
    except Exception as e:  # the results and got10k reports are written; say so instead of a bare traceback
        log.error("comparison report failed (results, performance.json and metrics.json are written): %s: %s",
                  type(e).__name__, e)
        if args.verbose:
            raise
        return 1
    return 0


def _fps(v) -> str:
    return f"{v:.1f}" if isinstance(v, (int, float)) and v > 0 else "n/a"  # -1: no time measured (static box)


def _print_table(res) -> None:
    import json
    with open(res.metrics_file) as f:
        m = json.load(f)
    rows = []
    for name, tr in m["trackers"].items():
        o = tr["overall"]
        if "success_score" not in o:
            rows.append(f"{name:<24} fps {_fps(o['speed_fps'])}   submission: {tr.get('submission')}")
            continue
        p = o.get("pytracking") or {}
        extra = f"  AO {100 * o['ao']:5.1f} SR {100 * o['sr']:5.1f}" if "ao" in o else ""
        pyt = (f"  | pytracking AUC {100 * p['auc']:5.1f} P {100 * p['precision']:5.1f} "
               f"Pnorm {100 * p['norm_precision']:5.1f}") if p else "  | pytracking n/a"
        rows.append(f"{name:<24} AUC {100 * o['success_score']:5.1f} P {100 * o['precision_score']:5.1f} "
                    f"Pnorm {100 * o['normalized_precision_score']:5.1f}{extra}{pyt}  fps {_fps(o['speed_fps'])}")
    print(f"{m['benchmark']} ({len(m['sequences'])} sequences)")
    print("\n".join(rows))
