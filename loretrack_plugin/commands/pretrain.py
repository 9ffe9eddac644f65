"""``loretrack pretrain``: masked-autoencoder pre-training of a tracker backbone on real frames."""
from __future__ import annotations

import json
import os

HELP = "pre-train a tracker's ViT backbone as a masked autoencoder on the frames of a config's datasets"


def add_arguments(p) -> None:
    p.add_argument("--config", required=True,
                   help="YAML with model (the ViT to pre-train), data.train.datasets (frames) and mae options")
    p.add_argument("--output-dir", default=None, help="run folder (default: run.output_dir, else runs/<name>)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set mae.steps=500 (repeatable)")
    p.add_argument("--real-data", action="append", default=[], metavar="DIR",
                   help="also read the frames of this folder of OTB-layout sequences (repeatable)")
    p.add_argument("--fresh", action="store_true", help="start over instead of resuming <output-dir>/checkpoints")
    p.add_argument("--max-steps", type=int, default=None, help="stop after this many steps in total")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args) -> int:
    from ..config import NetConfig
    from ..train.config import load_config, net_kwargs
    from ..train.mae import frame_sources, pretrain_mae
    from .train import real_data_override
    extra = list(args.overrides) + real_data_override(args.real_data, pairs=("video",))
    if args.output_dir:
        extra.append({"run": {"output_dir": os.fspath(args.output_dir)}})
    cfg = load_config(args.config, extra)
    if cfg["run"]["threads"]:
        import torch
        torch.set_num_threads(int(cfg["run"]["threads"]))
    datasets = frame_sources(cfg["data"]["train"]["datasets"])
    stats = pretrain_mae(NetConfig(**net_kwargs(cfg["model"])), datasets, cfg["run"]["output_dir"], cfg["mae"],
                         seed=cfg["run"]["seed"], resume=not args.fresh, progress=not args.no_progress,
                         max_steps=args.max_steps, num_workers=int(cfg["data"]["num_workers"]))
    print(json.dumps({k: v for k, v in stats.items() if k not in ("options", "net_config")}, indent=2))
    return 0
