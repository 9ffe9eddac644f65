"""``loretrack demo``: distil a LoReTrack student from the shipped teacher on this CPU, train its
same-resolution baseline on the same samples, evaluate both (over several seeds) against the
teacher and the static-box floor on real footage that ships with the package, and write the
comparison report."""
from __future__ import annotations

HELP = ("distil a low-resolution student from the shipped teacher, train its baseline on the same samples, "
        "evaluate on real footage and report (no downloads)")


def add_arguments(p):
    p.add_argument("--out", default="demo_out", help="output folder [%(default)s]")
    p.add_argument("--minutes", type=float, default=30.0,
                   help="time budget; every stage is sized up front to fit it [%(default)s]")
    p.add_argument("--seeds", type=int, default=3,
                   help="seeds of the student and of the baseline (mean ± std is reported) [%(default)s]")
    p.add_argument("--real-data", action="append", default=[], metavar="DIR",
                   help="also train on this folder of real OTB-layout sequences (every third one is held apart "
                        "for evaluation); repeatable")
    p.add_argument("--from-scratch", action="store_true",
                   help="also pre-train the backbone and train the teacher instead of using the shipped ones")
    p.add_argument("--backbone", default=None, metavar="CHECKPOINT",
                   help="start student and baseline from this backbone instead of the shipped one")
    p.add_argument("--teacher", default=None, metavar="CHECKPOINT",
                   help="distil from this frozen teacher instead of the shipped one (its sizes must match the "
                        "recipe's teacher section, see --set)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a value of every training stage's config, e.g. --set optim.lr=2e-4 (repeatable)")
    p.add_argument("--seed", type=int, default=0, help="first seed [%(default)s]")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores)")
    p.add_argument("--synthetic-train", type=int, default=40, metavar="N",
                   help="synthetic training sequences [%(default)s]")
    p.add_argument("--synthetic-eval", type=int, default=8, metavar="N",
                   help="synthetic held-apart evaluation sequences [%(default)s]")
    p.add_argument("--frames", type=int, default=60, help="frames per synthetic sequence [%(default)s]")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def run(args) -> int:
    from ..demo import format_summary, run_demo
    summary = run_demo(out=args.out, minutes=args.minutes, seeds=args.seeds, real_data=args.real_data,
                       from_scratch=args.from_scratch, seed=args.seed, threads=args.threads,
                       progress=not args.no_progress, synthetic_train=args.synthetic_train,
                       synthetic_eval=args.synthetic_eval, frames=args.frames, backbone=args.backbone,
                       teacher=args.teacher, overrides=args.overrides)
    print(format_summary(summary))
    return 0
