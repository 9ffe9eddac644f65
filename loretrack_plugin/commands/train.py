"""``loretrack train``: plain OSTrack-style training (teachers and same-resolution baselines).

Multi-GPU / multi-node: ``torchrun --nproc_per_node N -m loretrack_plugin train --config ...``
(``--batch`` in the config is per process). The same command runs as one process on CPU.
"""
from __future__ import annotations

import json

from ..cli import UserError

HELP = "train a tracker (teacher or baseline) from a YAML config; torchrun for multi-GPU"


def add_common(p, distill: bool = False) -> None:
    p.add_argument("--config", required=True, help="experiment YAML (see experiments/)")
    if distill:
        p.add_argument("--teacher", default=None,
                       help="frozen teacher checkpoint (default: teacher.checkpoint of the config)")
    p.add_argument("--output-dir", default=None, help="run folder (default: run.output_dir, else runs/<name>)")
    p.add_argument("--resume", nargs="?", const=True, default=None, metavar="CHECKPOINT",
                   help="continue a run: from CHECKPOINT, or from <output-dir>/checkpoints/latest.pth.tar")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set optim.epochs=10 (repeatable)")
    p.add_argument("--real-data", action="append", default=[], metavar="DIR",
                   help="also train on this folder of OTB-layout sequences (<seq>/img/*.jpg + groundtruth_rect.txt): "
                        "video pairs and still-image pairs, repeatable")
    p.add_argument("--max-steps", type=int, default=None, help="stop after this many optimiser steps in total")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def add_arguments(p) -> None:
    add_common(p)


def real_data_override(dirs, pairs=("video", "still"), weight: float = 1.0) -> list:
    """Config overrides that append each OTB-layout folder in ``dirs`` to ``data.train.datasets``
    (once per pair mode). Raises UserError naming a folder that does not exist."""
    import os
    if not dirs:
        return []
    for d in dirs:
        if not os.path.isdir(d):
            raise UserError(f"--real-data {d}: folder not found")
    from ..train.config import Append
    return [{"data": {"train": {"datasets": Append(
        {"type": "otb", "root": os.path.abspath(d), "weight": weight, "pairs": p} for d in dirs for p in pairs)}}}]


def execute(args, mode: str) -> int:
    from ..data.sampler import SamplingError
    from ..train.trainer import NonFiniteLossError, Trainer
    try:
        trainer = Trainer(args.config, mode=mode, teacher=getattr(args, "teacher", None), output_dir=args.output_dir,
                          resume=args.resume, overrides=list(args.overrides) + real_data_override(args.real_data),
                          max_steps=args.max_steps,
                          progress=False if args.no_progress else None)
        try:
            result = trainer.fit()
        finally:
            trainer.close()
    except (NonFiniteLossError, SamplingError) as e:
        raise UserError(str(e)) from None
    if trainer.dist.is_main:
        summary = {k: result[k] for k in ("checkpoint", "epochs", "steps", "corrupt_images", "samples_per_s")}
        summary["train"] = result["train"]
        print(json.dumps(summary, indent=2))
    return 0


def run(args) -> int:
    return execute(args, "train")
