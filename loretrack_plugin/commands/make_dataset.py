"""``loretrack make-dataset``: a synthetic benchmark in a real layout (tests, demos, install checks)."""
from __future__ import annotations

from ..cli import UserError

HELP = "write a synthetic benchmark (textured moving targets) in the LaSOT, GOT-10k, OTB, VOT or TrackingNet layout"


def add_arguments(p):
    from ..synthetic import LAYOUTS
    p.add_argument("--layout", required=True, choices=LAYOUTS)
    p.add_argument("--out", required=True, help="dataset root to write (for vot: the workspace's sequences/ folder)")
    p.add_argument("--sequences", type=int, default=4, help="sequences per split [%(default)s]")
    p.add_argument("--frames", type=int, default=40, help="frames per sequence [%(default)s]")
    p.add_argument("--seed", type=int, default=0, help="random seed [%(default)s]")
    p.add_argument("--splits", default=None,
                   help="comma-separated splits (lasot: test,train,ext; got10k: train,val,test; trackingnet: "
                        "test,train); default: lasot test, got10k all three, trackingnet test")
    p.add_argument("--size", default=None, metavar="WxH", help="frame size, e.g. 320x240 (default: a mix)")


def run(args) -> int:
    from ..synthetic import make_dataset
    size = None
    if args.size:
        try:
            w, h = (int(v) for v in args.size.lower().split("x"))
        except ValueError:
            raise UserError(f"--size {args.size!r}: expected WxH, e.g. 320x240") from None
        if w < 32 or h < 32:
            raise UserError(f"--size {args.size!r}: frames must be at least 32x32")
        size = (w, h)
    info = make_dataset(args.layout, args.out, sequences=args.sequences, frames=args.frames, seed=args.seed,
                        splits=args.splits, image_size=size)
    for split, names in info["splits"].items():
        print(f"{info['layout']} {split}: {len(names)} sequences x {args.frames} frames in {info['root']}")
    return 0
