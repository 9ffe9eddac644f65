"""``loretrack profile``: params, GMACs (thop-style and with attention matmuls), CPU latency per resolution."""
from __future__ import annotations

import torch

from ..cli import UserError

HELP = "print params, GMACs and median CPU forward latency of the network at several resolutions"


def add_arguments(p):
    p.add_argument("--resolutions", default="96,128,192,256,384",
                   help="comma-separated search sizes (template = half) [%(default)s]")
    p.add_argument("--embed-dim", type=int, default=768)
    p.add_argument("--depth", type=int, default=12)
    p.add_argument("--num-heads", type=int, default=12)
    p.add_argument("--repeats", type=int, default=10, help="timed forwards per resolution [%(default)s]")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    p.add_argument("--no-latency", action="store_true", help="skip the timing (MACs and params only)")


def run(args) -> int:
    from ..config import ConfigError
    from ..profiling import format_table, profile_resolutions
    try:
        res = [int(r) for r in args.resolutions.split(",") if r.strip()]
    except ValueError:
        raise UserError(f"--resolutions {args.resolutions!r}: expected comma-separated integers") from None
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        rows = profile_resolutions(res, latency=not args.no_latency, repeats=args.repeats,
                                   embed_dim=args.embed_dim, depth=args.depth, num_heads=args.num_heads)
    except ConfigError as e:
        raise UserError(str(e)) from None
    print(format_table(rows))
    print(f"(batch 1, random weights, {torch.get_num_threads()} threads; latency = median eager fp32 forward)")
    return 0
