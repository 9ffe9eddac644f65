"""The paper's comparison in miniature, on real footage: distilled student vs same-resolution
baseline vs teacher, over several seeds.

For each seed, from the same initialisation (the backbone: ``--backbone``, default the shipped one)
and the frozen teacher of a miniature recipe (``--recipe``: ``mini-stem``, on the pretrained NanoTrack
stem, the default; or ``mini``, on linear patches and an MAE backbone), with the shipped teacher
unless ``--teacher`` names another:

* **baseline** — the recipe's student network fine-tuned without distillation (``<recipe>/baseline``);
* **student** — the same network distilled with QKV-KD + Disc-KD (``<recipe>/student``);
* optional ablations (``--variants qkv,disc``): the student with only one KD term.

Baseline and students of one seed see the same samples (same seed, factors and jitter; the
students' crops are the teacher's, down-sampled) for the same number of steps, so their difference
is the distillation alone. Training data: the real videos of ``--real-data`` (default
``$LORETRACK_REAL_TRAIN``; the recipe's six validation videos are
left out). Evaluation: the static box, the untrained correlation of the recipe's stem (the reference: what training
adds; ``mini-stem`` only; also at half the pixel density where that reference exists), OpenCV's NanoTrack (the CPU peer), the teacher and every run on
``--eval-data`` (default ``$LORETRACK_REAL_OTB``, else the real sample shipped with the package), none
of which any model trained on. The table gives mean ± sample std over seeds and the
gain with its spread (:mod:`loretrack_plugin.report.seeds`).

    python experiments/mini_repro/run.py --out runs/mini_repro --seeds 0,1,2,3,4 --samples 16384

Finished runs are reused (delete a run folder to redo it); a killed run resumes from its last
checkpoint. Writes ``<out>/table.md`` and ``<out>/results.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
VARIANTS = {"qkv": {"disc": {"weight": 0.0}}, "disc": {"qkv": {"weight": 0.0}}}
LABELS = {"baseline": "baseline (no KD)", "student": "LoReTrack (QKV-KD + Disc-KD)", "qkv": "+QKV-KD only",
          "disc": "+Disc-KD only"}


def loop_phrase(limit, size_lr) -> str:
    """How the trackers' loop departs from the official one, in words."""
    parts = ([] if limit is None else [f"size change limited to x{limit:g} per frame"]) + \
            ([] if size_lr is None else [f"size damped (size_lr {size_lr:g})"])
    return " and ".join(parts) or "official"


def default_dir(env: str, name: str, fallback=None):
    """The folder named by environment variable ``env`` (``name``: what it holds), else ``fallback``."""
    path = os.environ.get(env)
    return path if path and os.path.isdir(path) else fallback


def main(argv=None) -> int:
    from loretrack_plugin import shipped
    from loretrack_plugin.sample_data import real_sample_root
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join("runs", "mini_repro"))
    ap.add_argument("--recipe", default="mini-stem", choices=["mini-stem", "mini"],
                    help="the miniature recipe: on the pretrained stem, or from the MAE backbone [%(default)s]")
    ap.add_argument("--real-stills", default=default_dir("LORETRACK_REAL_STILLS", "real-stills"),
                    help="still photos with one box each (OTB layout), for the stem recipe's still pairs")
    ap.add_argument("--peers", default="opencv-nano", help="CPU peers scored beside the models ('none': no peer)")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--samples", type=int, default=40000, help="training samples of every run [%(default)s]")
    ap.add_argument("--variants", default="", help="extra ablations: comma-separated of qkv, disc")
    ap.add_argument("--real-data", default=default_dir("LORETRACK_REAL_TRAIN", "real-train"))
    ap.add_argument("--eval-data", default=default_dir("LORETRACK_REAL_OTB", "real-otb", real_sample_root()))
    ap.add_argument("--backbone", default=None, help="the initialisation of every run (default: the shipped backbone)")
    ap.add_argument("--teacher", default=None, help="default: the shipped teacher")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--search-factor", type=float, default=shipped.SEARCH_FACTOR,
                    help="the trackers' search-area factor (the shipped trackers' [%(default)s]; the recipe "
                         "trains at 4.0)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override a recipe value in every run, e.g. --set data.augment.blur_prob=0.2 (repeatable; "
                         "finished runs in --out are reused as they are, so give a new --out)")
    ap.add_argument("--max-size-change", default=str(shipped.MAX_SIZE_CHANGE),
                    help="the trackers' per-frame size limit (the shipped trackers' [%(default)s]); "
                         "'none' runs the official loop")
    ap.add_argument("--size-lr", default=str(shipped.SIZE_LR).lower(),
                    help="the trackers' size damping: width and height move this fraction of the way to the "
                         "decoded size each frame (the shipped trackers' [%(default)s]; 'none' runs the official loop)")
    ap.add_argument("--max-frame-side", default=str(shipped.MAX_FRAME_SIDE).lower(),
                    help="frames with a longer side above this many pixels are tracked scaled down to it "
                         "(the shipped trackers' [%(default)s]: every frame as it is; the recipe's training "
                         "frames are at most 480)")
    args = ap.parse_args(argv)
    try:
        limit = None if args.max_size_change.lower() == "none" else float(args.max_size_change)
        if limit is not None and not limit > 1:
            raise ValueError
    except ValueError:
        sys.exit(f"--max-size-change: expected a number > 1 or 'none', got {args.max_size_change!r}")
    from loretrack_plugin.tracking.core import MIN_FRAME_SIDE, valid_frame_side
    try:
        side = None if args.max_frame_side.lower() == "none" else int(args.max_frame_side)
    except ValueError:
        side = -1
    if not valid_frame_side(side):
        sys.exit(f"--max-frame-side: expected an integer >= {MIN_FRAME_SIDE} or 'none', got {args.max_frame_side!r}")
    from loretrack_plugin.tracking.core import parse_size_lr
    try:
        size_lr = parse_size_lr(args.size_lr)
    except ValueError as e:
        sys.exit(str(e))
    loop_options = {"max_size_change": limit, "max_frame_side": side, "size_lr": size_lr}
    if not args.real_data or not os.path.isdir(args.real_data):
        sys.exit("--real-data: no folder of real training videos (set LORETRACK_REAL_TRAIN)")

    from loretrack_plugin.trackers import write_tracker_file
    from loretrack_plugin.evaluation import TrackerRef, evaluate, resolve_tracker
    from loretrack_plugin.trackers.stem_reference import REFERENCES
    from loretrack_plugin.recipes import recipe_path
    from loretrack_plugin.report.seeds import gain_with_spread, mean_std
    from loretrack_plugin.train.config import load_config
    from loretrack_plugin.train.trainer import Trainer
    from loretrack_plugin.utils.files import write_json, write_text

    out = os.path.abspath(args.out)
    try:  # a bad --set fails here, before any run starts
        load_config(recipe_path(f"{args.recipe}/baseline"), list(args.set))
    except (ValueError, KeyError) as e:
        sys.exit(f"--set: {e}")
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    variants = [v for v in args.variants.split(",") if v.strip()]
    for v in variants:
        if v not in VARIANTS:
            sys.exit(f"--variants: unknown variant {v!r} (known: {', '.join(VARIANTS)})")
    stem = args.recipe == "mini-stem"  # a pretrained stem: its untrained correlation is the reference row
    backbone = os.path.abspath(args.backbone) if args.backbone else shipped.require("backbone")
    teacher = os.path.abspath(args.teacher) if args.teacher else shipped.require("teacher")
    os.environ["LORETRACK_REAL_TRAIN"] = os.path.abspath(args.real_data)
    if stem:
        if not args.real_stills or not os.path.isdir(args.real_stills):
            sys.exit("--real-stills: no folder of still photos (set LORETRACK_REAL_STILLS)")
        os.environ["LORETRACK_REAL_STILLS"] = os.path.abspath(args.real_stills)

    def run(kind: str, recipe: str, seed: int, loss=None) -> str:
        run_dir = os.path.join(out, f"{kind}-s{seed}")
        stats = os.path.join(run_dir, "stats.json")
        if os.path.isfile(stats):
            with open(stats) as f:
                return json.load(f)["checkpoint"]
        base = load_config(recipe_path(recipe))
        B = base["optim"]["batch_size"]
        epochs = max(1, round(args.samples / 4096))
        per_epoch = max(B, args.samples // epochs // B * B)
        over = {"name": f"mini-repro-{kind}-s{seed}", "model": {"init": backbone},
                "data": {"train": {"samples_per_epoch": per_epoch}},
                "optim": {"epochs": epochs, "lr_drop_epoch": max(1, round(0.8 * epochs))},
                "run": {"output_dir": run_dir, "seed": seed, "threads": args.threads, "save_every": epochs}}
        if recipe.endswith("student"):
            over["teacher"] = {"checkpoint": teacher}
        if loss:
            over["loss"] = loss
        cfg = load_config(recipe_path(recipe), [over] + list(args.set))
        latest = os.path.join(run_dir, "checkpoints", "latest.pth.tar")
        t0 = time.time()
        trainer = Trainer(cfg, mode="distill" if recipe.endswith("student") else "train",
                          resume=True if os.path.isfile(latest) else None)
        try:
            res = trainer.fit()
        finally:
            trainer.close()
        print(f"{kind}-s{seed}: {res['steps']} steps in {time.time() - t0:.0f} s", flush=True)
        return res["checkpoint"]

    crops = load_config(recipe_path(f"{args.recipe}/baseline"))["data"]  # every stage of the recipe shares its crops
    student_cfg = load_config(recipe_path(f"{args.recipe}/student"), [{"teacher": {"checkpoint": "unused"}}])
    hi = f"{student_cfg['teacher']['search_size']}/{student_cfg['teacher']['template_size']}"
    lo = f"{student_cfg['model']['search_size']}/{student_cfg['model']['template_size']}"
    tname = f"teacher-{student_cfg['teacher']['search_size']}"
    if not args.search_factor > 0:
        sys.exit(f"--search-factor: expected a positive number, got {args.search_factor}")
    trained_factor = crops["search"]["factor"]
    factors = (args.search_factor, crops["template"]["factor"])
    kinds = ["baseline", "student"] + variants
    refs = [TrackerRef(ref="static-box", name="static-box")]
    reference = ["stem-xcorr-" + load_config(recipe_path(f"{args.recipe}/baseline"))["model"]["patch_embed"]] \
        if stem else []
    # and, where it exists, the same correlation at half the pixel density (a 128/64 student's)
    reference += [r + "-half" for r in reference if r + "-half" in REFERENCES]
    peers = [] if args.peers.strip().lower() == "none" else [p.strip() for p in args.peers.split(",") if p.strip()]
    refs += [resolve_tracker(name, threads=args.threads) for name in reference + peers]
    tpath = write_tracker_file(os.path.join(out, "trackers", f"{tname}.yaml"), tname, teacher,
                               *factors, "frozen teacher", "eager", args.threads, **loop_options)
    refs.append(TrackerRef(ref=tpath, name=tname, checkpoint=teacher, threads=args.threads))
    for seed in seeds:
        for kind in kinds:
            recipe = f"{args.recipe}/baseline" if kind == "baseline" else f"{args.recipe}/student"
            ckpt = run(kind, recipe, seed, VARIANTS.get(kind))
            name = f"{kind}@s{seed}"
            path = write_tracker_file(os.path.join(out, "trackers", f"{kind}-s{seed}.yaml"), name, ckpt,
                                      *factors, LABELS[kind], "eager", args.threads, **loop_options)
            refs.append(TrackerRef(ref=path, name=name, checkpoint=os.path.abspath(ckpt), threads=args.threads))

    # results of another loop setting live in their own folders (finished results are reused)
    loop = (("" if limit is None else f"-size{limit:g}")
            + ("" if factors[0] == trained_factor else f"-sf{factors[0]:g}")
            + ("" if side is None else f"-fs{side}")
            + ("" if size_lr is None else f"-lr{size_lr:g}"))
    res = evaluate("otb-dir", args.eval_data, refs, result_dir=os.path.join(out, "results" + loop),
                   report_dir=os.path.join(out, "reports" + loop), workers=1)
    with open(res.metrics_file) as f:
        metrics = {n: t["overall"] for n, t in json.load(f)["trackers"].items()}
    auc = {n: m["success_score"] for n, m in metrics.items()}
    fps = {n: m.get("speed_fps") for n, m in metrics.items()}
    rows, table = [], {}
    for label, names in [("static box (floor)", ["static-box"])] + \
            [(f"untrained stem correlation ({n})", [n]) for n in reference] + [(f"CPU peer: {n}", [n]) for n in peers] + \
            [(f"teacher {hi}", [tname])] + [(f"{LABELS[k]} {lo}", [f"{k}@s{s}" for s in seeds]) for k in kinds]:
        vals = [auc[n] for n in names]
        m, sd = mean_std(vals)
        speed = [fps[n] for n in names if fps.get(n) and fps[n] > 0]
        table[label] = {"mean": m, "std": sd, "per_seed": vals, "fps": mean_std(speed)[0] if speed else None}
        rows.append(f"| {label} | {100 * m:.1f}" + ("" if sd is None else f" ± {100 * sd:.1f}") + " | "
                    + ", ".join(f"{100 * v:.1f}" for v in vals) + " | "
                    + (f"{table[label]['fps']:.0f}" if table[label]["fps"] else "–") + " |")
    gains = {}
    for k in kinds[1:]:
        g = gain_with_spread({f"{k}@s{s}": auc[f"{k}@s{s}"] for s in seeds},
                             {f"baseline@s{s}": auc[f"baseline@s{s}"] for s in seeds})
        gains[k] = g
        sd = "" if g["spread"] is None else f" ± {100 * g['spread']:.1f}"
        rows.append(f"| {LABELS[k]} − baseline | {100 * g['gain']:+.1f}{sd} | {g['verdict']} | |")
    names = sorted(os.listdir(args.eval_data))
    text = (f"Success AUC (%) on {args.eval_data} ({len(res.evaluated)} sequences no model trained on), got10k "
            f"OTB protocol; recipe {args.recipe}; seeds {', '.join(map(str, seeds))}; {args.samples} training samples per run; "
            f"tracking loop: {loop_phrase(limit, size_lr)}, "
            f"search factor {factors[0]:g}, "
            + ("frames as they are" if side is None else f"frames scaled down to a longer side of at most {side} px")
            + ".\n\n"
            "| model | AUC mean ± std | per seed | fps |\n|---|---|---|---|\n" + "\n".join(rows) + "\n")
    record = {"recipe": args.recipe, "backbone": backbone, "seeds": seeds, "samples": args.samples, "max_size_change": limit, "max_frame_side": side,
              "size_lr": size_lr,
              "search_factor": factors[0],
              "overrides": list(args.set), "teacher": teacher, "eval_data": args.eval_data,
              "sequences": res.evaluated, "table": table, "gains": gains, "folder": names}
    # the latest run's table, and one per loop setting (so another setting never overwrites it)
    for suffix in sorted({"", loop}):
        write_text(os.path.join(out, f"table{suffix}.md"), text)
        write_json(os.path.join(out, f"results{suffix}.json"), record)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
