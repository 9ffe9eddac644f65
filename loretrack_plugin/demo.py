"""The main job on a fresh machine: distil, evaluate and report a miniature LoReTrack, no downloads.

Stages (all under ``out``):

1. data — synthetic GOT-10k-layout training sequences from the generator, plus the real
   OTB-layout sequences of a folder the user names; a held-apart evaluation set (real sequences
   kept out of training, and synthetic sequences drawn with another seed);
2. train a small high-resolution teacher (``experiments/tiny/teacher.yaml``, 128/64);
3. train the same-resolution-as-student baseline without distillation (``tiny/baseline.yaml``, 64/32);
4. distil the low-resolution LoReTrack student from the frozen teacher (``tiny/student.yaml``, 64/32);
5. evaluate the three with got10k on the held-apart sets and write the comparison reports.

The number of epochs of each stage is sized from ``minutes`` and the training speed measured so far
on this machine, so the whole run stays near the budget.
"""
from __future__ import annotations

import json
import logging
import os
import time
from typing import Dict, List, Optional, Sequence

from .utils.io import write_json, write_text

log = logging.getLogger("loretrack")

REPO_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXPERIMENTS_DIR = os.path.join(REPO_DIR, "experiments")
# real sequences kept out of training when present (the tiny recipe validates on the same ones)
HELD_OUT = ("Biker", "Crossing", "MountainBike6", "vot15_bag")
# training speed priors (samples/s on 2 CPU cores), replaced by measurements as stages finish
PRIOR_SPEED = {"teacher": 60.0, "baseline": 150.0, "student": 90.0}
TEACHER_SHARE = 0.45  # of the training time; baseline and student share the rest
TRACKER_NAMES = {"teacher": "teacher-128", "baseline": "baseline-64", "student": "loretrack-64"}


def find_recipe(name: str) -> str:
    path = os.path.join(EXPERIMENTS_DIR, "tiny", f"{name}.yaml")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"tiny recipe not found: {path} (the demo runs from a source checkout "
                                "installed with `pip install -e .`)")
    return path


STAGE_RECORD = "demo_stage.json"


def _finished_stage(stage_dir: str) -> Optional[Dict]:
    """The record of a stage that completed in an earlier run of the demo (None if it did not)."""
    path = os.path.join(stage_dir, STAGE_RECORD)
    if not os.path.isfile(path):
        return None
    with open(path) as f:
        rec = json.load(f)
    return rec if os.path.isfile(rec.get("checkpoint", "")) else None


def real_sequence_names(root: str) -> List[str]:
    """Names of the OTB-layout sequences under ``root`` (the folder given with --real-data)."""
    from .tracking.sequence import list_otb_sequences
    return [os.path.basename(p) for p in list_otb_sequences(root)]


def split_real(names: Sequence[str]):
    """(training names, held-out names): the fixed HELD_OUT list when present, else every third."""
    held = [n for n in names if n in HELD_OUT]
    if not held:
        held = list(names[2::3])
    if len(held) == len(names):
        raise ValueError("need at least two real sequences to keep some apart for evaluation")
    return [n for n in names if n not in held], held


STAGE_OVERHEAD_S = 8.0  # start-up, data loader workers, validation and checkpoints of one stage


def plan_epochs(seconds: float, speed: float, samples_per_epoch: int, batch: int = 16, max_epochs: int = 60):
    """(epochs, samples per epoch) that fill ``seconds`` at ``speed`` samples/s.

    Epochs have a fixed cost, so a short budget gets few epochs of ``samples_per_epoch`` (or fewer)
    samples rather than many tiny ones; sizes are whole batches.
    """
    total = max(batch, (seconds - STAGE_OVERHEAD_S) * speed)
    epochs = int(min(max_epochs, max(1, round(total / samples_per_epoch))))
    per_epoch = max(batch, int(total / epochs) // batch * batch)
    return epochs, min(per_epoch, 2 * samples_per_epoch)


def stage_overrides(name: str, out: str, epochs: int, samples_per_epoch: int, seed: int, train_sets, val_sets,
                     threads: Optional[int]) -> dict:
    return {
        "name": name,
        "data": {"train": {"datasets": train_sets, "samples_per_epoch": samples_per_epoch},
                 "val": {"datasets": val_sets, "samples_per_epoch": max(32, samples_per_epoch // 4),
                         "every": epochs}},
        "optim": {"epochs": epochs, "lr_drop_epoch": max(1, int(round(0.8 * epochs)))},
        "run": {"output_dir": out, "seed": seed, "save_every": epochs, "save_last": 1, "threads": threads},
    }


def write_tracker_yaml(path: str, name: str, checkpoint: str, search_factor: float, template_factor: float,
                       description: str) -> str:
    import yaml
    doc = {"name": name, "description": description, "search_factor": float(search_factor),
           "template_factor": float(template_factor), "checkpoint": os.path.abspath(checkpoint), "backend": "auto"}
    write_text(path, yaml.safe_dump(doc, sort_keys=False))
    return path


def run_demo(out: str = "demo_out", minutes: float = 30.0, real_data: Optional[str] = None, seed: int = 0,
             synthetic_train: int = 40, synthetic_eval: int = 8, frames: int = 60, samples_per_epoch: int = 1024,
             threads: Optional[int] = None, progress: bool = True) -> Dict:
    """Run the whole demo; returns (and writes to ``out/demo_summary.json``) what was measured."""
    from .datasets import make_dataset
    from .evaluation.api import evaluate
    from .evaluation.runner import TrackerRef
    from .report import make_report
    from .train.config import load_config
    from .train.trainer import distill, train

    t_start = time.time()
    budget = float(minutes) * 60.0
    if budget <= 0:
        raise ValueError(f"--minutes {minutes}: must be positive")
    out = os.path.abspath(out)
    os.makedirs(out, exist_ok=True)
    data_dir = os.path.join(out, "data")
    summary: Dict = {"out": out, "minutes_budget": minutes, "seed": seed, "stages": {}}

    # 1. data -----------------------------------------------------------------------------------
    t0 = time.time()
    synth_train = os.path.join(data_dir, "synthetic-train")
    synth_eval = os.path.join(data_dir, "synthetic-eval")
    if not os.path.isfile(os.path.join(synth_train, "train", "list.txt")):
        make_dataset("got10k", synth_train, sequences=synthetic_train, frames=frames, seed=seed, splits="train")
    if not os.path.isfile(os.path.join(synth_eval, "val", "list.txt")):
        make_dataset("got10k", synth_eval, sequences=synthetic_eval, frames=frames, seed=seed + 1000, splits="val")
    train_sets = [{"type": "got10k", "root": synth_train, "split": "train", "weight": 1}]
    val_sets = [{"type": "got10k", "root": synth_eval, "split": "val"}]
    real_eval = None
    if real_data:
        real_data = os.path.abspath(real_data)
        real_train, real_held = split_real(real_sequence_names(real_data))
        train_sets.append({"type": "otb", "root": real_data, "weight": 1, "sequences": real_train})
        real_eval = os.path.join(data_dir, "real-heldout")
        os.makedirs(real_eval, exist_ok=True)
        for n in real_held:  # a folder holding only the held-out sequences, for `otb-dir`
            link = os.path.join(real_eval, n)
            if not os.path.exists(link):
                os.symlink(os.path.join(real_data, n), link)
        val_sets = [{"type": "otb", "root": real_data, "sequences": real_held}]
        summary["real_train"], summary["real_heldout"] = real_train, real_held
    summary["stages"]["data"] = {"seconds": time.time() - t0}

    # 2-4. training -----------------------------------------------------------------------------
    train_budget = max(0.0, 0.85 * budget - (time.time() - t_start))
    speed = dict(PRIOR_SPEED)
    checkpoints: Dict[str, str] = {}
    reused: Dict[str, Dict] = {}  # stages finished by an earlier, interrupted run of the demo
    factors = {}
    for stage in ("teacher", "baseline", "student"):
        recipe = find_recipe(stage)
        spent = time.time() - t_start + sum(r.get("seconds") or 0 for r in reused.values())
        left = max(0.0, 0.85 * budget - spent)
        if stage == "teacher":
            epochs, spe = plan_epochs(left * TEACHER_SHARE, speed["teacher"], samples_per_epoch)
        elif stage == "baseline":
            # baseline and student see the same samples, so their comparison isolates the distillation:
            # size that number so both stages fit in what is left
            pair_speed = 1.0 / (1.0 / speed["baseline"] + 1.0 / speed["student"])
            epochs, spe = plan_epochs(left - STAGE_OVERHEAD_S, pair_speed, samples_per_epoch)
        else:
            epochs = summary["stages"]["baseline"]["epochs"]
            spe = summary["stages"]["baseline"]["samples_per_epoch"]
        seconds = epochs * spe / speed[stage]
        stage_dir = os.path.join(out, "runs", stage)
        done = _finished_stage(stage_dir)
        if done:  # a re-run of the same command continues where an interrupted demo stopped
            log.info("demo: %s already trained (%s), reusing it", stage, done["checkpoint"])
            checkpoints[stage] = done["checkpoint"]
            factors[stage] = tuple(done["factors"])
            summary["stages"][stage] = reused[stage] = done
            continue
        cfg = load_config(recipe, [stage_overrides(f"demo-{stage}", stage_dir, epochs, spe, seed, train_sets,
                                                     val_sets, threads)])
        cfg.pop("_source", None)
        factors[stage] = (cfg["data"]["search"]["factor"], cfg["data"]["template"]["factor"])
        log.info("demo: %s — %d epochs x %d samples (planned %.0f s at %.0f samples/s)", stage, epochs, spe,
                 seconds, speed[stage])
        t0 = time.time()
        if stage == "student":
            res = distill(cfg, teacher=checkpoints["teacher"], progress=progress)
        else:
            res = train(cfg, progress=progress)
        took = time.time() - t0
        checkpoints[stage] = res["checkpoint"]
        if res.get("samples_per_s"):
            speed[stage] = float(res["samples_per_s"])
        summary["stages"][stage] = {"seconds": took, "epochs": epochs, "samples_per_epoch": spe,
                                    "samples_per_s": res.get("samples_per_s"), "checkpoint": res["checkpoint"],
                                    "config": recipe, "factors": list(factors[stage])}
        write_json(os.path.join(stage_dir, STAGE_RECORD), summary["stages"][stage])
    summary["training_budget_s"] = train_budget

    # 5. evaluation and reports -----------------------------------------------------------------
    tracker_dir = os.path.join(out, "trackers")
    refs = []
    for stage in ("teacher", "baseline", "student"):
        name = TRACKER_NAMES[stage]
        desc = {"teacher": "demo teacher (128/64, plain training)",
                "baseline": "demo baseline (64/32, no distillation)",
                "student": "demo LoReTrack student (64/32, QKV-KD + Disc-KD from the teacher)"}[stage]
        path = write_tracker_yaml(os.path.join(tracker_dir, f"{name}.yaml"), name, checkpoints[stage],
                                  factors[stage][0], factors[stage][1], desc)
        refs.append(TrackerRef(ref=path, name=name, threads=threads))
    t0 = time.time()
    results = {}
    benches = [("got10k_val", synth_eval)]
    if real_eval:
        benches.insert(0, ("otb-dir", real_eval))
    result_dir, report_dir = os.path.join(out, "results"), os.path.join(out, "reports")
    for bench, root in benches:
        res = evaluate(bench, root, refs, result_dir=result_dir, report_dir=report_dir, workers=1)
        make_report(result_dir, bench, res.trackers, out_dir=os.path.join(report_dir, bench, "comparison"),
                    report_dir=report_dir)
        metrics = {}
        if res.metrics_file and os.path.isfile(res.metrics_file):
            with open(res.metrics_file) as f:
                m = json.load(f)
            for name, t in m.get("trackers", {}).items():
                o = t.get("overall", {})
                metrics[name] = {k: o.get(k) for k in ("success_score", "precision_score", "ao", "sr", "speed_fps")
                                 if o.get(k) is not None}
        results[bench] = {"root": root, "metrics": metrics, "metrics_file": res.metrics_file,
                          "report": os.path.join(out, "reports", bench, "comparison")}
    summary["stages"]["evaluation"] = {"seconds": time.time() - t0}
    summary["results"] = results
    summary["seconds_total"] = time.time() - t_start + sum(r.get("seconds") or 0 for r in reused.values())
    summary["resumed_stages"] = sorted(reused)
    write_json(os.path.join(out, "demo_summary.json"), summary)
    return summary


def format_summary(summary: Dict) -> str:
    lines = [f"demo finished in {summary['seconds_total'] / 60:.1f} min (budget {summary['minutes_budget']} min)"]
    for bench, r in summary["results"].items():
        lines.append(f"\n{bench} ({r['root']}):")
        key = "ao" if bench.startswith("got10k") else "success_score"
        label = "AO" if key == "ao" else "AUC"
        for name, m in sorted(r["metrics"].items(), key=lambda kv: -(kv[1].get(key) or 0)):
            lines.append(f"  {name:<14} {label} {m.get(key, float('nan')):.3f}   fps {m.get('speed_fps', float('nan')):.0f}")
        lines.append(f"  report: {r['report']}")
    return "\n".join(lines)
