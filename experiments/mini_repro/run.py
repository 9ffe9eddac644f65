"""The paper's ablation in miniature: baseline student, +QKV-KD, +Disc-KD, +both, and the teacher.

Every variant uses the tiny CPU recipe (experiments/tiny): a width-192, 4-block ViT; teacher at
128/64, students at 64/32 fed the bilinear down-sample of the teacher's crops. The baseline is the
same distillation run with both KD weights at 0, so the four student rows differ only in the loss.
Each seed trains its own teacher and its four students (seed = init + data order), then all are
evaluated with got10k on real sequences that no run trained on (Biker, Crossing, MountainBike6,
vot15_bag of ../shared/data/real-otb). The table gives mean ± std of the success AUC over seeds.

    python experiments/mini_repro/run.py --out runs/mini_repro [--seeds 0,1,2] [--epochs 10]

Finished runs are reused (delete a run folder to redo it); the table is written to
``<out>/table.md`` and ``<out>/results.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
TINY = os.path.join(REPO, "experiments", "tiny")

VARIANTS = {  # name -> loss overrides of the distillation run
    "baseline (no KD)": {"qkv": {"weight": 0.0}, "disc": {"weight": 0.0}},
    "+QKV-KD": {"disc": {"weight": 0.0}},
    "+Disc-KD": {"qkv": {"weight": 0.0}},
    "+QKV-KD +Disc-KD (LoReTrack)": {},
}
SLUG = {"baseline (no KD)": "baseline", "+QKV-KD": "qkv", "+Disc-KD": "disc",
        "+QKV-KD +Disc-KD (LoReTrack)": "both", "teacher (128/64)": "teacher"}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(REPO, "runs", "mini_repro"))
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--samples-per-epoch", type=int, default=1024)
    ap.add_argument("--real-data", default=os.path.join(os.path.dirname(REPO), "shared", "data", "real-otb"))
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args(argv)

    from loretrack_plugin.datasets import make_dataset
    from loretrack_plugin.demo import real_sequence_names, split_real, stage_overrides, write_tracker_yaml
    from loretrack_plugin.evaluation.api import evaluate
    from loretrack_plugin.evaluation.runner import TrackerRef
    from loretrack_plugin.train.config import load_config
    from loretrack_plugin.train.trainer import distill, train
    from loretrack_plugin.utils.io import write_json, write_text

    out = os.path.abspath(args.out)
    seeds = [int(s) for s in args.seeds.split(",")]
    real_train, real_held = split_real(real_sequence_names(args.real_data))
    synth = os.path.join(out, "data", "synthetic-train")
    if not os.path.isfile(os.path.join(synth, "train", "list.txt")):
        make_dataset("got10k", synth, sequences=40, frames=60, seed=0, splits="train")
    eval_root = os.path.join(out, "data", "real-heldout")
    os.makedirs(eval_root, exist_ok=True)
    for n in real_held:
        if not os.path.exists(os.path.join(eval_root, n)):
            os.symlink(os.path.join(os.path.abspath(args.real_data), n), os.path.join(eval_root, n))

    train_sets = [{"type": "got10k", "root": synth, "split": "train", "weight": 1},
                  {"type": "otb", "root": os.path.abspath(args.real_data), "weight": 1, "sequences": real_train}]
    val_sets = [{"type": "otb", "root": os.path.abspath(args.real_data), "sequences": real_held}]

    def overrides(name, run_dir, seed, loss=None):
        o = stage_overrides(name, run_dir, args.epochs, args.samples_per_epoch, seed, train_sets, val_sets,
                            args.threads)
        if loss:
            o["loss"] = loss
        return o

    def run_once(kind, recipe, run_dir, seed, loss=None, teacher=None):
        final = os.path.join(run_dir, "stats.json")
        if os.path.isfile(final):
            with open(final) as f:
                return json.load(f)
        cfg = load_config(os.path.join(TINY, recipe), [overrides(os.path.basename(run_dir), run_dir, seed, loss)])
        cfg.pop("_source", None)
        t0 = time.time()
        res = distill(cfg, teacher=teacher, progress=True) if kind == "distill" else train(cfg, progress=True)
        print(f"{os.path.basename(run_dir)}: {time.time() - t0:.0f} s", flush=True)
        return res

    refs = []
    for seed in seeds:
        tdir = os.path.join(out, f"seed{seed}", "teacher")
        t = run_once("train", "teacher.yaml", tdir, seed)
        refs.append((seed, "teacher (128/64)", t["checkpoint"], 4.0))
        for variant, loss in VARIANTS.items():
            rdir = os.path.join(out, f"seed{seed}", SLUG[variant])
            r = run_once("distill", "student.yaml", rdir, seed, loss=loss, teacher=t["checkpoint"])
            refs.append((seed, variant, r["checkpoint"], 4.0))

    tracker_refs = []
    for seed, variant, ckpt, factor in refs:
        name = f"{SLUG[variant]}-s{seed}"
        path = write_tracker_yaml(os.path.join(out, "trackers", name + ".yaml"), name, ckpt, factor, 2.0, variant)
        tracker_refs.append(TrackerRef(ref=path, name=name, threads=args.threads))
    synth_eval = os.path.join(out, "data", "synthetic-eval")
    if not os.path.isfile(os.path.join(synth_eval, "val", "list.txt")):
        make_dataset("got10k", synth_eval, sequences=8, frames=60, seed=1000, splits="val")
    order = ["baseline (no KD)", "+QKV-KD", "+Disc-KD", "+QKV-KD +Disc-KD (LoReTrack)", "teacher (128/64)"]
    text, tables = [], {}
    for bench, root, key, what in [
            ("otb-dir", eval_root, "success_score",
             f"Success AUC (%) on {len(real_held)} held-out real sequences ({', '.join(real_held)}), got10k OTB protocol"),
            ("got10k_val", synth_eval, "ao",
             "AO (%) on 8 held-out synthetic GOT-10k-layout sequences (generator seed 1000), got10k protocol")]:
        res = evaluate(bench, root, tracker_refs, result_dir=os.path.join(out, "results"),
                       report_dir=os.path.join(out, "reports"), workers=1)
        with open(res.metrics_file) as f:
            metrics = json.load(f)["trackers"]
        rows = {}
        for seed, variant, _, _ in refs:
            rows.setdefault(variant, []).append(metrics[f"{SLUG[variant]}-s{seed}"]["overall"][key])
        lines = ["| variant | mean ± std | per seed (" + ", ".join(map(str, seeds)) + ") |", "|---|---|---|"]
        table = {}
        for v in order:
            vals = rows[v]
            sd = statistics.stdev(vals) if len(vals) > 1 else 0.0
            table[v] = {"mean": statistics.mean(vals), "std": sd, "per_seed": vals}
            lines.append(f"| {v} | {100 * statistics.mean(vals):.1f} ± {100 * sd:.1f} | "
                         + ", ".join(f"{100 * a:.1f}" for a in vals) + " |")
        tables[bench] = table
        text.append(f"{what}; {len(seeds)} seeds, {args.epochs} epochs x {args.samples_per_epoch} samples.\n\n"
                    + "\n".join(lines) + "\n")
    write_text(os.path.join(out, "table.md"), "\n".join(text))
    write_json(os.path.join(out, "results.json"), {"seeds": seeds, "epochs": args.epochs, "heldout": real_held,
                                                   "tables": tables})
    print("\n".join(text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
