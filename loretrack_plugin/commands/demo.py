"""``loretrack demo``: distil a small LoReTrack on this CPU, evaluate it against its teacher and a
same-resolution baseline on held-apart sequences, and write the comparison report."""
from __future__ import annotations

HELP = ("distil, evaluate and report a miniature LoReTrack on this machine (synthetic + your real "
        "sequences, no downloads)")


def add_arguments(p):
    p.add_argument("--out", default="demo_out", help="output folder [%(default)s]")
    p.add_argument("--minutes", type=float, default=30.0, help="time budget; epochs are sized to fit [%(default)s]")
    p.add_argument("--real-data", default=None, metavar="DIR",
                   help="folder of real OTB-layout sequences (e.g. ../shared/data/real-otb); some are kept apart "
                        "for evaluation")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores)")
    p.add_argument("--synthetic-train", type=int, default=40, metavar="N",
                   help="synthetic training sequences [%(default)s]")
    p.add_argument("--synthetic-eval", type=int, default=8, metavar="N",
                   help="synthetic held-apart evaluation sequences [%(default)s]")
    p.add_argument("--frames", type=int, default=60, help="frames per synthetic sequence [%(default)s]")


def run(args) -> int:
    from ..demo import format_summary, run_demo
    summary = run_demo(out=args.out, minutes=args.minutes, real_data=args.real_data, seed=args.seed,
                       threads=args.threads, synthetic_train=args.synthetic_train,
                       synthetic_eval=args.synthetic_eval, frames=args.frames)
    print(format_summary(summary))
    return 0
