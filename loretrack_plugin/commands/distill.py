"""``loretrack distill``: LoReTrack distillation of a low-resolution student from a frozen teacher."""
from __future__ import annotations

from .train import add_common, execute

HELP = "distil a low-resolution student from a frozen high-resolution teacher (QKV-KD + Disc-KD)"


def add_arguments(p) -> None:
    add_common(p, distill=True)


def run(args) -> int:
    return execute(args, "distill")
