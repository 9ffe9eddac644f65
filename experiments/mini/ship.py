"""Copy the finished runs of the miniature recipe into the package as the shipped models.

    python experiments/mini/ship.py --backbone runs/mini-stem-backbone --teacher runs/mini-stem-teacher \
        --student runs/mini-stem-student --baseline runs/mini-stem-baseline [--eval-json runs/mini-eval.json]

(``--recipe mini --backbone runs/mini-pretrain-mae ...`` ships the runs of the MAE-backbone recipe.)

For each stage (names in loretrack_plugin/shipped.py) it writes
``loretrack_plugin/trackers/weights/<name>.pth.tar`` — the network only, in fp16 (half the size; it
loads into an fp32 network) with its config — a named tracker file ``<name>.yaml`` for the three
trackers, and one provenance record ``weights/demo_weights.json``: the command and resolved config
of every run, its data, seed, steps, samples, training time and the SHA-256 of the file.
"""
import argparse
import hashlib
import json
import os
import sys

import torch

from loretrack_plugin import build_net_from_checkpoint, save_checkpoint
from loretrack_plugin import shipped
from loretrack_plugin.trackers import write_tracker_file
from loretrack_plugin.utils.files import atomic_path, write_json

DESCRIPTIONS = {
    "mini": {
        "backbone": "ViT 256/6 pre-trained as a masked autoencoder on real frames (MAE layout)",
        "teacher": "demo teacher: ViT 256/6 at 192/96 px, fine-tuned from demo-backbone (mini recipe)",
        "student": "demo LoReTrack: ViT 256/6 at 96/48 px, QKV-KD + Disc-KD from demo-teacher-192 (mini recipe)",
        "baseline": "demo baseline: ViT 256/6 at 96/48 px, same samples as demo-loretrack-96, no distillation",
    },
    "mini-stem": {
        "backbone": "{stem} + ViT 256/6 at 192/96 px, blocks and head trained from random "
                    "weights (mini-stem recipe, stage 1): the initialisation of every later stage",
        "teacher": "demo teacher: {stem} + ViT 256/6 at 256/128 px, fine-tuned from demo-backbone; "
                   "the head reads the tokens and the stem's correlation (mini-stem recipe)",
        "student": "demo LoReTrack: {stem} + ViT 256/6 at 128/64 px, from demo-backbone, "
                   "QKV-KD + Disc-KD from demo-teacher-256 (mini-stem recipe)",
        "baseline": "demo baseline: {stem} + ViT 256/6 at 128/64 px, the student's network, initialisation "
                    "and samples, no distillation (mini-stem recipe)",
    },
}


STEM_NAMES = {"nanotrack-v3": "NanoTrack v3 stem", "mobilenetv2": "MobileNetV2 stem"}


def stem_phrase(model) -> str:
    """How a run's ``model`` section treats its convolutional stem, for the tracker's description:
    ``frozen NanoTrack v3 stem``, ``trained NanoTrack v3 stem (input zoomed 2x)``."""
    name = STEM_NAMES.get(model.get("patch_embed"), str(model.get("patch_embed")))
    text = ("frozen " if model.get("freeze_stem", True) else "trained ") + name
    zoom = int(model.get("stem_zoom") or 1)
    return text + (f" (input zoomed {zoom}x)" if zoom > 1 else "")


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


DATA_VARIABLES = ("LORETRACK_REAL_TRAIN", "LORETRACK_REAL_STILLS", "LORETRACK_REAL_OTB")


def data_folders():
    """{folder: "${VARIABLE}"} for the data folders the environment names (as given, and absolute)."""
    folders = {}
    for var in DATA_VARIABLES:
        value = os.environ.get(var)
        if value:
            folders[value.rstrip("/")] = folders[os.path.abspath(value)] = "${%s}" % var
    return folders


def portable(obj, folders=None):
    """``obj`` with every data folder named by ``$LORETRACK_REAL_TRAIN`` / ``$LORETRACK_REAL_OTB``
    (as given, or absolute) written as that variable, so the record names no path of the machine the
    models were trained on. ``folders``: {path: replacement}; default :func:`data_folders`."""
    if folders is None:
        folders = data_folders()
    if isinstance(obj, dict):
        return {k: portable(v, folders) for k, v in obj.items()}
    if isinstance(obj, list):
        return [portable(v, folders) for v in obj]
    if isinstance(obj, str):
        for path in sorted(folders, key=len, reverse=True):  # the longest first: /a/b before a/b
            obj = obj.replace(path, folders[path])
    return obj


def name_shipped(obj, aliases):
    """``obj`` with every string that is one of the ``aliases`` files replaced by its ``shipped:<stage>``."""
    if isinstance(obj, dict):
        return {k: name_shipped(v, aliases) for k, v in obj.items()}
    if isinstance(obj, list):
        return [name_shipped(v, aliases) for v in obj]
    if isinstance(obj, str) and obj in aliases:
        return aliases[obj]
    return obj


def run_record(run):
    """What a training run says about itself, from its latest checkpoint (so a run that is still
    going, or was stopped, can be shipped too) or from the checkpoint file named: config, steps,
    samples, training time, last stats."""
    ckpt = run if os.path.isfile(run) else os.path.join(run, "checkpoints", "latest.pth.tar")
    state = torch.load(ckpt, map_location="cpu", weights_only=False)
    cfg = state["train_config"]
    B = cfg["optim"]["batch_size"] * state.get("world_size", 1)
    stats = state.get("stats") or {}
    sps = stats.get("samples_per_s")
    return {"config": cfg, "checkpoint": ckpt, "epochs": state.get("epoch"), "steps": state["step"],
            "samples": state["step"] * B, "train_seconds": round(state["step"] * B / sps) if sps else None,
            "last_epoch_stats": stats}


def mae_record(run_dir):
    """What a finished MAE pre-training run says about itself."""
    with open(os.path.join(run_dir, "stats.json")) as f:
        stats = json.load(f)
    return {"method": "mae", "steps": stats["steps"], "samples": stats["steps"] * stats["options"]["batch_size"],
            "train_seconds": round(stats["seconds"]), "options": stats["options"], "net_config": stats["net_config"],
            "loss_first_50": stats["loss_first_50"], "loss_last_50": stats["loss_last_50"]}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for stage in shipped.NAMES:
        ap.add_argument(f"--{stage}", default=None, metavar="RUN_DIR|CHECKPOINT",
                        help="a run folder (its latest checkpoint) or one of its checkpoint files")
    ap.add_argument("--recipe", default="mini-stem", choices=sorted(DESCRIPTIONS),
                    help="the recipe the runs followed [%(default)s]")
    ap.add_argument("--search-factor", type=float, default=shipped.SEARCH_FACTOR,
                    help="the trackers' search factor [%(default)s]")
    ap.add_argument("--max-size-change", default=str(shipped.MAX_SIZE_CHANGE),
                    help="the trackers' size limit per frame, or 'none' [%(default)s]")
    ap.add_argument("--size-lr", default=str(shipped.SIZE_LR).lower(),
                    help="the trackers' size damping per frame, a fraction in (0, 1], or 'none' [%(default)s]")
    ap.add_argument("--command-log", default=None, help="text file with the commands that made the runs")
    ap.add_argument("--eval-json", default=None, help="evaluation results to store with the record")
    ap.add_argument("--runs-root", default=None, metavar="DIR",
                    help="the folder that holds the runs: recorded as 'runs' (so the record names no folder of "
                         "the training machine)")
    ap.add_argument("--alias", action="append", default=[], metavar="FILE=STAGE",
                    help="a checkpoint the runs name that holds the same weights as a shipped stage (e.g. an fp16 "
                         "copy of the backbone): recorded as shipped:STAGE (repeatable)")
    ap.add_argument("--note", action="append", default=[], metavar="STAGE=TEXT",
                    help="a remark stored with a stage's record (e.g. that its training continues)")
    args = ap.parse_args(argv)
    stages = [st for st in shipped.NAMES if getattr(args, st)]
    if not stages:
        ap.error("name at least one run folder (--backbone/--teacher/--student/--baseline)")
    record = {"recipe": f"loretrack_plugin/recipes/{args.recipe}", "files": {}, "runs": {}}
    limit = None if args.max_size_change.lower() == "none" else float(args.max_size_change)
    from loretrack_plugin.tracking.core import parse_size_lr
    try:
        size_lr = parse_size_lr(args.size_lr)
    except ValueError as e:
        ap.error(str(e))
    loop = dict(shipped.LOOP, max_size_change=limit, size_lr=size_lr)
    if os.path.isfile(shipped.PROVENANCE):  # stages not named keep what was shipped before
        with open(shipped.PROVENANCE) as f:
            old = json.load(f)
        if "runs" in old:
            record.update({k: v for k, v in old.items() if k != "recipe"})
    notes = dict(n.split("=", 1) for n in args.note)
    if args.command_log:
        with open(args.command_log) as f:
            record["commands"] = [line.rstrip("\n") for line in f if line.strip()]
    for stage in stages:
        name = shipped.NAMES[stage]
        run_dir = getattr(args, stage)
        if not os.path.exists(run_dir):
            sys.exit(f"--{stage} {run_dir}: no such run folder or checkpoint")
        if os.path.isfile(os.path.join(run_dir, "backbone.pth")):  # an MAE pre-training run
            rec = mae_record(run_dir)
            path = shipped.weights_path(stage)
            obj = torch.load(os.path.join(run_dir, "backbone.pth"), map_location="cpu", weights_only=False)
            obj["model"] = {k: v.half() if v.is_floating_point() else v for k, v in obj["model"].items()}
            with atomic_path(path) as tmp:
                torch.save(obj, tmp)
        else:
            rec = run_record(run_dir)
            net = build_net_from_checkpoint(rec["checkpoint"]).half()
            path = save_checkpoint(net, shipped.weights_path(stage), epoch=rec["epochs"])
        rel = os.path.relpath(path, os.path.dirname(shipped.WEIGHTS_DIR))
        record["files"][name] = {"file": rel, "sha256": sha256(path), "bytes": os.path.getsize(path),
                                 "stage": stage}
        record["runs"][name] = {k: v for k, v in rec.items() if k != "checkpoint"}
        record["files"][name]["dtype"] = "float16"
        record["runs"][name]["run_dir"] = os.path.abspath(run_dir)
        if os.path.isfile(run_dir):
            record["runs"][name]["checkpoint"] = os.path.basename(run_dir)
        if stage in notes:
            record["runs"][name]["note"] = notes[stage]
        if stage != "backbone":
            description = DESCRIPTIONS[args.recipe][stage].format(stem=stem_phrase(rec.get("config", {}).get("model", {})))
            write_tracker_file(os.path.join(os.path.dirname(shipped.WEIGHTS_DIR), f"{name}.yaml"), name, path,
                               args.search_factor, shipped.TEMPLATE_FACTOR, description,
                               relative=True, **loop,
                               header="# shipped miniature model; provenance in weights/demo_weights.json\n")
    if args.eval_json:
        with open(args.eval_json) as f:
            record["evaluation"] = json.load(f)
    # the runs name their initialisation and teacher by the file they read; where that file is what ships
    # as a stage, the record says so (shipped:<stage>, as the recipes write it) instead of a local path
    aliases = {}
    for stage in stages:
        if os.path.isfile(getattr(args, stage)):
            aliases[os.path.abspath(getattr(args, stage))] = f"{shipped.PREFIX}{stage}"
    for item in args.alias:
        path, _, stage = item.partition("=")
        if stage not in shipped.NAMES or not path:
            sys.exit(f"--alias {item}: expected FILE=STAGE with STAGE one of {', '.join(shipped.NAMES)}")
        aliases[os.path.abspath(path)] = f"{shipped.PREFIX}{stage}"
    folders = data_folders()
    if args.runs_root:
        folders.update({os.path.abspath(args.runs_root): "runs", args.runs_root.rstrip("/"): "runs"})
    write_json(shipped.PROVENANCE, portable(name_shipped(record, aliases), folders))
    print(json.dumps(record["files"], indent=2))


if __name__ == "__main__":
    sys.exit(main())
