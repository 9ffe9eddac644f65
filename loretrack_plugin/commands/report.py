"""``loretrack report``: plots and tables comparing trackers and resolutions on one or more benchmarks."""
from __future__ import annotations

import logging
import os

from ..cli import UserError

HELP = "write the comparison report (plots, Markdown/HTML tables, report.json) from evaluated results"

log = logging.getLogger(__name__)


def add_arguments(p):
    p.add_argument("--results", required=True, metavar="R",
                   help="raw results folder of `loretrack eval` (its tracker_info.json files give the networks)")
    p.add_argument("--benchmark", required=True, metavar="NAME",
                   help="benchmark(s), comma-separated, as evaluated (e.g. lasot,otb), or 'all' for every "
                        "benchmark with a metrics.json in the report folder; a got10k report folder name "
                        "(e.g. OTB2015) reads got10k's performance.json files alone")
    p.add_argument("--trackers", default=None, metavar="A,B",
                   help="trackers to include, comma-separated (default: every tracker with results); the "
                        "static box (the floor) is always in the report: from the results when `loretrack eval` "
                        "ran it, else scored from the ground truth")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="output folder (default: <report-dir>/<benchmark>/comparison; with several benchmarks "
                        "DIR/<benchmark>)")
    p.add_argument("--report-dir", default=None, metavar="P",
                   help="where `loretrack eval` wrote <benchmark>/metrics.json (default: searched next to "
                        "and inside --results)")
    p.add_argument("--family", action="append", default=[], metavar="NAME=ROLE",
                   help="override the name-based grouping: ROLE is student, baseline, teacher or other "
                        "(repeatable); NAME may be a model's base name, for all its runs NAME@s<seed>")
    p.add_argument("--no-profile", action="store_true", help="skip GMACs/params (no network profiling)")
    p.add_argument("--formats", default="png,pdf", help="figure formats besides PNG: pdf and/or svg [%(default)s]")


def _benchmarks(arg: str, results: str, report_dir):
    names = [b.strip() for b in arg.split(",") if b.strip()]
    if names != ["all"]:
        return names
    from ..report.build import default_report_dirs
    dirs = [report_dir] if report_dir else default_report_dirs(results)
    for d in dirs:
        found = sorted(b for b in os.listdir(d) if os.path.isfile(os.path.join(d, b, "metrics.json"))) \
            if os.path.isdir(d) else []
        if found:
            return found
    raise UserError(f"--benchmark all: no <benchmark>/metrics.json in {', '.join(dirs)}")


def run(args) -> int:
    from ..report import make_report
    if not os.path.isdir(args.results):
        raise UserError(f"--results {args.results}: folder not found")
    formats = tuple(f.strip().lower() for f in args.formats.split(",") if f.strip())
    bad = [f for f in formats if f not in ("png", "pdf", "svg")]
    if bad:
        raise UserError(f"--formats: unknown format(s) {', '.join(bad)} (choose from png, pdf, svg)")
    benches = _benchmarks(args.benchmark, args.results, args.report_dir)
    for bench in benches:
        out = args.out
        if out and len(benches) > 1:
            out = os.path.join(out, bench)
        folder = make_report(args.results, bench, trackers=args.trackers, out_dir=out, report_dir=args.report_dir,
                             families=args.family, profile=not args.no_profile, formats=formats)
        print(f"{bench}: {os.path.join(folder, 'report.html')}")
        print(f"{bench}: {os.path.join(folder, 'report.md')}")
    return 0
