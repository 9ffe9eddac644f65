"""``loretrack profile-data``: is training limited by the data loader or by the step?

Builds the trainer of a ``train``/``distill`` config exactly as ``loretrack train`` would (same data,
workers, device and precision), then times the loader alone and the training step alone
(:meth:`loretrack_plugin.train.Trainer.profile_data`). Nothing is written to the run folder.
"""
from __future__ import annotations

import json

from ..cli import UserError

HELP = "samples/s of the training data loader alone against the training step (is the GPU fed?)"


def add_arguments(p) -> None:
    p.add_argument("--config", required=True, help="experiment YAML, as for `loretrack train` / `distill`")
    p.add_argument("--mode", choices=("train", "distill"), default="train",
                   help="profile the train or the distill step [%(default)s]")
    p.add_argument("--teacher", default=None, help="teacher checkpoint for --mode distill")
    p.add_argument("--steps", type=int, default=20, help="timed batches and timed steps [%(default)s]")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set data.num_workers=8 (repeatable)")


def run(args) -> int:
    from ..data.sampler import SamplingError
    from ..train.trainer import NonFiniteLossError, Trainer
    if args.steps < 1:
        raise UserError(f"--steps {args.steps}: must be at least 1")
    try:
        trainer = Trainer(args.config, mode=args.mode, teacher=args.teacher, overrides=args.overrides,
                          progress=False)
        try:
            res = trainer.profile_data(args.steps)
        finally:
            trainer.close()
    except (NonFiniteLossError, SamplingError) as e:
        raise UserError(str(e)) from None
    if trainer.dist.is_main:
        print(json.dumps(res, indent=2))
        w = res["processes"]
        print(f"loader {res['loader_samples_per_s']:.1f} samples/s vs step {res['step_samples_per_s']:.1f} samples/s "
              f"per process (x{w} processes; {res['num_workers']} workers, {res['device']}, {res['precision']}): "
              + ("the loader is the bottleneck: raise data.num_workers" if res["bound"] == "data"
                 else "the step is the bottleneck"))
    return 0
