"""The main job on a fresh machine: distil a low-resolution LoReTrack student from the shipped
high-resolution teacher, train its same-resolution baseline on the same samples, and show on real
footage whether the distillation pays off. Nothing is downloaded.

Stages (everything under ``out``):

1. **data** — synthetic GOT-10k-layout training sequences (video pairs and self-supervised
   random-box pairs), plus the user's OTB-layout folders (``--real-data``, some sequences kept apart
   for evaluation); evaluation sets: the real sample that ships with the package, the user's
   held-apart sequences, and synthetic sequences drawn with another seed;
2. **plan** — a few training steps of every kind of stage and a few forwards of the teacher and the
   student are timed on this machine, and the budget is split up front: evaluation gets what its
   frames x trackers need at those speeds, and each seed's baseline and student get the same number
   of samples in the rest, whatever the machine's speed (a budget below the minimum is announced
   with the time the run will take instead);
3. with ``--from-scratch``: train the backbone (the recipe's first stage: the 192/96 network on the
   pretrained stem, or an MAE backbone for the linear-patch recipe) and then the teacher from it;
   otherwise the shipped backbone and frozen teacher are used;
4. for every seed: the baseline (128/64, from the backbone, no distillation) and the student
   (128/64, the same initialisation, QKV-KD + Disc-KD from the teacher), on the same samples;
5. evaluation of the static box (the floor), the teacher, every student and baseline, and OpenCV's
   NanoTrack (``opencv-nano``, the CPU tracker a user would otherwise run: where LoReTrack stands
   against the field) on every evaluation set, and the comparison reports (floor row, families,
   mean ± std over seeds, the gain with its spread, each tracker's fps measured in the run).

A rerun of the same command continues an interrupted demo: finished stages are reused, an
unfinished one resumes from its last checkpoint, finished tracking results are kept.
"""
from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from typing import Dict, List, Optional, Sequence, Tuple

from . import shipped
from .utils.files import write_json

log = logging.getLogger("loretrack")

MIN_SAMPLES = 64           # every training stage runs at least this many samples, whatever the budget
SCRATCH_SHARES = {"backbone": 0.3, "teacher": 0.3}  # of the training time with --from-scratch
STAGE_OVERHEAD_S = 6.0   # start-up, data-loader worker and checkpoints of one stage
CALIBRATION_STEPS = 4    # timed training steps per stage kind (after one untimed warm-up step)
# evaluation time = frames x (forward + this) summed over the trackers, + a fixed cost per evaluation
# set; measured on the default demo: reading, cropping and writing cost ~4 ms per tracker and frame
# next to the network, and the metrics, reports and plots of one set ~8 s
EVAL_FRAME_OVERHEAD_MS = 4.0
EVAL_SET_OVERHEAD_S = 8.0
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")
#: OpenCV's trackers evaluated beside the models (loretrack_plugin/trackers/opencv_peers.py)
PEERS = ("opencv-nano",)
STAGE_RECORD = "demo_stage.json"


# ------------------------------------------------------------------------------------------------
# data
# ------------------------------------------------------------------------------------------------
def real_sequence_names(root: str) -> List[str]:
    """Names of the OTB-layout sequences under ``root``, each read once (frames in the order of the
    numbers in their names, boxes, counts that agree) so that a folder the readers refuse stops the
    demo before it writes anything."""
    from .formats import find_otb_sequences
    targets = find_otb_sequences(root)
    for target in targets:
        target.load()
    return list(dict.fromkeys(os.path.basename(t.folder) for t in targets))


def split_real(names: Sequence[str], every: int = 3) -> Tuple[List[str], List[str]]:
    """(training names, held-apart names) of a user's folder: every ``every``-th sequence (from the
    third) is held apart for evaluation."""
    names = list(names)
    held = names[every - 1::every]
    if not held or len(held) == len(names):
        raise ValueError(f"need at least {every} real sequences to keep some apart for evaluation "
                         f"(got {len(names)})")
    return [n for n in names if n not in held], held


def prepare_data(out: str, real_data: Sequence[str], seed: int, synthetic_train: int, synthetic_eval: int,
                 frames: int) -> Dict:
    """Write the synthetic sets, link the held-apart real sequences; return the training datasets and
    the evaluation sets ``[(label, benchmark, root)]``."""
    from .synthetic import make_dataset
    from .sample_data import real_sample_root
    real = []
    for folder in real_data:
        folder = os.path.abspath(folder)
        if not os.path.isdir(folder):
            raise FileNotFoundError(f"--real-data {folder}: folder not found")
        real.append((folder, split_real(real_sequence_names(folder))))
    data_dir = os.path.join(out, "data")
    synth_train = os.path.join(data_dir, "synthetic-train")
    synth_eval = os.path.join(data_dir, "synthetic-eval")
    if not os.path.isfile(os.path.join(synth_train, "train", "list.txt")):
        make_dataset("got10k", synth_train, sequences=synthetic_train, frames=frames, seed=seed, splits="train")
    if not os.path.isfile(os.path.join(synth_eval, "val", "list.txt")):
        make_dataset("got10k", synth_eval, sequences=synthetic_eval, frames=frames, seed=seed + 1000, splits="val")
    train_sets = [{"type": "got10k", "root": synth_train, "split": "train", "weight": 2},
                  {"type": "got10k", "root": synth_train, "split": "train", "weight": 1, "pairs": "random"}]
    evals = [("real-sample", "otb-dir", real_sample_root())]
    info: Dict = {"real_train": {}, "real_heldout": {}}
    for i, (folder, (train, held)) in enumerate(real):
        train_sets += [{"type": "otb", "root": folder, "weight": 3, "sequences": train},
                       {"type": "otb", "root": folder, "weight": 1, "sequences": train, "pairs": "still"}]
        link_dir = os.path.join(data_dir, f"real-heldout-{i + 1}")
        os.makedirs(link_dir, exist_ok=True)
        for n in held:  # a folder holding only the held-apart sequences
            link = os.path.join(link_dir, n)
            if not os.path.exists(link):
                os.symlink(os.path.join(folder, n), link)
        evals.append((f"real-heldout-{i + 1}", "otb-dir", link_dir))
        info["real_train"][folder], info["real_heldout"][folder] = train, held
    evals.append(("synthetic", "got10k_val", synth_eval))
    info.update(train_sets=train_sets, eval_sets=evals)
    return info


# ------------------------------------------------------------------------------------------------
# stages and budget
# ------------------------------------------------------------------------------------------------
def stage_config(kind: str, name: str, out_dir: str, train_sets, seed: int, samples: int, threads: Optional[int],
                 progress: bool, backbone: Optional[str], teacher: Optional[str], batch: Optional[int] = None,
                 extra: Sequence = ()) -> dict:
    """The resolved training config of one demo stage: a shipped recipe, the demo's overrides, then
    ``extra`` (``"key=value"`` strings or dicts, e.g. the user's ``--set``)."""
    from .recipes import recipe_path
    from .train.config import load_config
    base = load_config(recipe_path(shipped.RECIPES[kind]), list(extra))
    B = int(batch or base["optim"]["batch_size"])
    epochs, per_epoch = plan_epochs(samples, B)
    over = {
        "name": name,
        "mae": {"steps": max(1, int(samples) // int(base["mae"]["batch_size"]))},
        "data": {"train": {"datasets": train_sets, "samples_per_epoch": per_epoch},
                 "val": {"datasets": []}, "num_workers": 1},
        "optim": {"epochs": epochs, "lr_drop_epoch": max(1, int(round(0.8 * epochs))), "batch_size": B},
        "run": {"output_dir": out_dir, "seed": seed, "save_every": epochs, "save_last": 1, "threads": threads,
                "progress": progress, "tensorboard": False, "save_every_steps": 50},
    }
    if kind == "backbone":  # an MAE backbone is pre-trained at the teacher's size; a tracking one at its recipe's
        if shipped.MODES[kind] == "pretrain":
            over["model"] = {"search_size": base["teacher"]["search_size"],
                             "template_size": base["teacher"]["template_size"]}
    else:  # None = no init file (the recipe's own start, e.g. a pretrained stem), never the recipe's default file
        over["model"] = {"init": backbone}
    if kind == "student":
        over["teacher"] = {"checkpoint": teacher}
    cfg = load_config(recipe_path(shipped.RECIPES[kind]), [over] + list(extra))
    cfg.pop("_source", None)
    return cfg


def recipe_needs_backbone() -> bool:
    """Whether the shipped student recipe starts from a backbone file (``model.init``: the shipped
    recipes do; a recipe whose student starts from its pretrained stem alone does not)."""
    from .recipes import recipe_path
    from .train.config import load_config
    cfg = load_config(recipe_path(shipped.RECIPES["student"]), [{"teacher": {"checkpoint": "unused"}}])
    return bool(cfg["model"]["init"])


def plan_epochs(samples: int, batch: int, per_epoch: int = 2048) -> Tuple[int, int]:
    """(epochs, samples per epoch) for ``samples`` samples: epochs of about ``per_epoch`` samples,
    whole batches, at least one batch in total."""
    samples = max(batch, int(samples))
    epochs = max(1, int(round(samples / per_epoch)))
    return epochs, max(batch, samples // epochs // batch * batch)


def calibrate(cfg: dict, mode: str, steps: int = CALIBRATION_STEPS) -> float:
    """Training speed of ``cfg`` on this machine in samples/s: one untimed warm-up step, then
    ``steps`` timed ones, with the data loader the stage itself uses (a worker process preparing the
    next batch while the step runs, so both compete for the cores as they will in training)."""
    import copy
    from .train.trainer import Trainer
    cfg = copy.deepcopy(cfg)
    if mode == "pretrain":
        return _pretrain(cfg, None, steps=steps + 1)["images_per_s"]
    with tempfile.TemporaryDirectory(prefix="loretrack-calibrate-") as tmp:
        cfg["run"].update(output_dir=tmp, progress=False)
        cfg["data"]["train"]["samples_per_epoch"] = cfg["optim"]["batch_size"] * (steps + 1)
        trainer = Trainer(cfg, mode=mode)
        try:
            it = iter(trainer.loader)
            trainer.train_step(next(it))
            t0 = time.perf_counter()
            for _ in range(steps):
                trainer.train_step(next(it))
            took = time.perf_counter() - t0
        finally:
            trainer.close()
    return steps * cfg["optim"]["batch_size"] / took


def forward_ms(model_cfg: Optional[dict] = None, checkpoint: Optional[str] = None, calls: int = 5) -> float:
    """Median time of one eager forward (template, search), in milliseconds, of the network saved in
    ``checkpoint`` or of one built from ``model_cfg`` (untrained: the time does not depend on the
    weights)."""
    import torch
    if checkpoint:
        from .checkpoint import build_net_from_checkpoint
        net = build_net_from_checkpoint(checkpoint)
    else:
        from .config import NetConfig
        from .models.net import TrackerNet
        from .train.config import net_kwargs
        net = TrackerNet(NetConfig(**net_kwargs(model_cfg))).eval()
    z = torch.rand(1, 3, net.cfg.template_size, net.cfg.template_size)
    x = torch.rand(1, 3, net.cfg.search_size, net.cfg.search_size)
    times = []
    with torch.inference_mode():
        for k in range(calls + 2):
            t0 = time.perf_counter()
            net(z, x)
            if k >= 2:  # two warm-up calls
                times.append(time.perf_counter() - t0)
    return 1000.0 * sorted(times)[len(times) // 2]


def peer_step_ms(name: str, threads: Optional[int] = None, calls: int = 5) -> float:
    """Median time of one ``update`` of the OpenCV tracker ``name``, in milliseconds, on frames of the
    real sample that ships with the package."""
    from .formats import list_otb_sequences, load_otb_sequence, read_rgb
    from .sample_data import real_sample_root
    from .trackers import make_tracker
    paths, gt = load_otb_sequence(list_otb_sequences(real_sample_root())[0])
    frames = [read_rgb(p) for p in paths[:calls + 2]]
    peer = make_tracker(name, threads=threads)
    peer.init(frames[0], gt[0])
    times = []
    for k, frame in enumerate(frames[1:]):
        t0 = time.perf_counter()
        peer.update(frame)
        if k >= 1:  # one warm-up call
            times.append(time.perf_counter() - t0)
    return 1000.0 * sorted(times)[len(times) // 2]


def count_frames(root: str) -> int:
    """Image files under ``root`` (following links: the held-apart folders link their sequences)."""
    n = 0
    for _, _, files in os.walk(root, followlinks=True):
        n += sum(f.lower().endswith(IMAGE_EXTENSIONS) for f in files)
    return n


def estimate_eval_seconds(frames: int, tracker_ms: Sequence[float], sets: int) -> float:
    """Seconds to track ``frames`` frames with every tracker (eager forward ``tracker_ms`` each) and
    write the reports of ``sets`` evaluation sets."""
    per_frame = sum(ms + EVAL_FRAME_OVERHEAD_MS for ms in tracker_ms) / 1000.0
    return frames * per_frame + sets * EVAL_SET_OVERHEAD_S


def _random_teacher(cfg: dict, out: str) -> str:
    """An untrained network of the teacher's architecture (only to time the student's steps)."""
    from .checkpoint import save_checkpoint
    from .config import NetConfig
    from .models.net import TrackerNet
    from .train.config import net_kwargs
    return save_checkpoint(TrackerNet(NetConfig(**net_kwargs(cfg["model"]))), os.path.join(out, "calibrate-teacher.pth.tar"))


def plan_budget(budget_s: float, speeds: Dict[str, float], seeds: int, from_scratch: bool,
                eval_s: float) -> Dict:
    """Seconds and samples of every stage kind for ``budget_s`` seconds, of which evaluation needs
    ``eval_s`` (:func:`estimate_eval_seconds`). Each seed's baseline and student get the same number
    of samples (at least :data:`MIN_SAMPLES`). ``expected_seconds`` is what the plan should take;
    it exceeds the budget when the budget is below the minimum (``over_budget``)."""
    eval_s = max(0.0, float(eval_s))
    train_s = max(0.0, budget_s - eval_s)
    plan: Dict = {"budget_seconds": budget_s, "eval_seconds": eval_s, "train_seconds": train_s,
                  "samples": {}, "seconds": {}}
    pair_s = train_s
    if from_scratch:
        for kind, share in SCRATCH_SHARES.items():
            if kind not in speeds:  # a recipe without a backbone to pre-train
                continue
            s = share * train_s
            plan["samples"][kind] = n_kind = max(MIN_SAMPLES, int(max(0.0, s - STAGE_OVERHEAD_S) * speeds[kind]))
            plan["seconds"][kind] = n_kind / speeds[kind] + STAGE_OVERHEAD_S
            pair_s -= s
    per_seed = pair_s / max(1, seeds) - 2 * STAGE_OVERHEAD_S
    n = max(MIN_SAMPLES, int(max(0.0, per_seed) / (1.0 / speeds["baseline"] + 1.0 / speeds["student"])))
    plan["samples"]["baseline"] = plan["samples"]["student"] = n
    plan["seconds"]["baseline"] = n / speeds["baseline"] + STAGE_OVERHEAD_S
    plan["seconds"]["student"] = n / speeds["student"] + STAGE_OVERHEAD_S
    extra = [plan["seconds"][k] for k in SCRATCH_SHARES if k in plan["seconds"]]
    plan["expected_seconds"] = eval_s + sum(extra) + max(1, seeds) * (plan["seconds"]["baseline"]
                                                                        + plan["seconds"]["student"])
    plan["over_budget"] = plan["expected_seconds"] > budget_s * 1.02
    return plan


def _finished_stage(stage_dir: str) -> Optional[Dict]:
    path = os.path.join(stage_dir, STAGE_RECORD)
    if not os.path.isfile(path):
        return None
    with open(path) as f:
        rec = json.load(f)
    return rec if os.path.isfile(rec.get("checkpoint", "")) else None


def _pretrain(cfg: dict, output_dir: Optional[str], steps: Optional[int] = None, progress: bool = False) -> Dict:
    """MAE pre-training of ``cfg``'s network on its training frames (into a temporary folder when
    ``output_dir`` is None, e.g. to time ``steps`` steps)."""
    from .config import NetConfig
    from .train.config import net_kwargs
    from .train.mae import frame_sources, pretrain_mae
    args = (NetConfig(**net_kwargs(cfg["model"])), frame_sources(cfg["data"]["train"]["datasets"]))
    kw = dict(seed=cfg["run"]["seed"], progress=progress, num_workers=0 if output_dir is None else 1)
    if output_dir is None:
        with tempfile.TemporaryDirectory(prefix="loretrack-calibrate-") as tmp:
            return pretrain_mae(*args, tmp, dict(cfg["mae"], steps=steps, warmup_steps=1), max_steps=steps, **kw)
    return pretrain_mae(*args, output_dir, cfg["mae"], **kw)


def run_stage(kind: str, cfg: dict, stage_dir: str, progress: bool) -> Dict:
    """Train one stage (resuming its own checkpoint after an interruption) and record it."""
    from .train.trainer import Trainer
    t0 = time.time()
    if shipped.MODES[kind] == "pretrain":
        res = _pretrain(cfg, cfg["run"]["output_dir"], progress=progress)
        res.update(checkpoint=res["backbone"], samples_per_s=res["images_per_s"])
        samples = res["steps"] * cfg["mae"]["batch_size"]
    else:
        latest = os.path.join(cfg["run"]["output_dir"], "checkpoints", "latest.pth.tar")
        trainer = Trainer(cfg, mode=shipped.MODES[kind], resume=True if os.path.isfile(latest) else None,
                          progress=progress)
        try:
            res = trainer.fit()
        finally:
            trainer.close()
        samples = res["steps"] * cfg["optim"]["batch_size"]
    rec = {"kind": kind, "checkpoint": res["checkpoint"], "seconds": time.time() - t0, "steps": res["steps"],
           "samples": samples, "samples_per_s": res.get("samples_per_s"),
           "seed": cfg["run"]["seed"], "recipe": shipped.RECIPES[kind]}
    write_json(os.path.join(stage_dir, STAGE_RECORD), rec)
    return rec


# ------------------------------------------------------------------------------------------------
# the demo
# ------------------------------------------------------------------------------------------------
def tracker_name(kind: str, seed: Optional[int] = None) -> str:
    """Evaluation names: ``teacher-256``, ``loretrack-128@s<seed>``, ``baseline-128@s<seed>``."""
    base = {"teacher": f"teacher-{shipped.TEACHER_SIZE}", "student": f"loretrack-{shipped.STUDENT_SIZE}",
            "baseline": f"baseline-{shipped.STUDENT_SIZE}"}[kind]
    return base if seed is None else f"{base}@s{seed}"


def run_demo(out: str = "demo_out", minutes: float = 30.0, seeds: int = 3, real_data: Sequence[str] = (),
             from_scratch: bool = False, seed: int = 0, threads: Optional[int] = None, progress: bool = True,
             synthetic_train: int = 40, synthetic_eval: int = 8, frames: int = 60, backbone: Optional[str] = None,
             teacher: Optional[str] = None, overrides: Sequence = ()) -> Dict:
    """Run the whole demo; returns (and writes to ``out/demo_summary.json``) what was measured.

    ``backbone`` / ``teacher``: checkpoints to start from instead of the shipped ones; ``overrides``:
    config overrides applied to every training stage (``"key=value"`` strings or dicts).
    """
    from .evaluation.api import evaluate
    from .evaluation.runner import TrackerRef, resolve_tracker
    from .report import make_report
    from .trackers import write_tracker_file

    t_start = time.time()
    budget = float(minutes) * 60.0
    if not budget > 0:
        raise ValueError(f"--minutes {minutes}: must be positive")
    if int(seeds) < 1:
        raise ValueError(f"--seeds {seeds}: must be at least 1")
    seeds_list = [seed + k for k in range(int(seeds))]
    out = os.path.abspath(out)
    os.makedirs(out, exist_ok=True)
    if threads:
        import torch
        torch.set_num_threads(int(threads))
    summary: Dict = {"out": out, "minutes_budget": minutes, "seeds": seeds_list, "from_scratch": bool(from_scratch),
                     "stages": {}}

    # 1. data ---------------------------------------------------------------------------------------
    t0 = time.time()
    data = prepare_data(out, real_data, seed, synthetic_train, synthetic_eval, frames)
    summary["stages"]["data"] = {"seconds": time.time() - t0}
    summary["real_train"], summary["real_heldout"] = data["real_train"], data["real_heldout"]
    train_sets = data["train_sets"]

    # 2. plan ---------------------------------------------------------------------------------------
    # a recipe whose stages start from a backbone file gets the shipped one, or --backbone (one whose
    # student starts from its pretrained stem alone needs none)
    needs_backbone = recipe_needs_backbone()
    if backbone:
        backbone = os.path.abspath(backbone)
    elif needs_backbone and not from_scratch:
        backbone = shipped.require("backbone")
    if from_scratch:
        teacher = None
    else:
        teacher = os.path.abspath(teacher) if teacher else shipped.require("teacher")
    for what, path in (("backbone", backbone), ("teacher", teacher)):
        if path and not os.path.isfile(path):
            raise FileNotFoundError(f"--{what} {path}: file not found")
    cal_teacher = teacher
    scratch = ((["backbone"] if needs_backbone and not backbone else []) + ["teacher"]) if from_scratch else []
    kinds = scratch + ["baseline", "student"]
    plan_file = os.path.join(out, "demo_plan.json")
    if os.path.isfile(plan_file):  # a rerun keeps the first run's plan, so resumed stages agree
        with open(plan_file) as f:
            plan = json.load(f)
    else:
        speeds = {}
        for kind in kinds:
            if kind == "student" and cal_teacher is None:  # --from-scratch: time it with an untrained teacher
                cal_teacher = _random_teacher(stage_config("teacher", "calibrate", out, train_sets, seed, 64, threads,
                                                           False, None, None, extra=overrides), out)
            cfg = stage_config(kind, f"calibrate-{kind}", out, train_sets, seed, 64, threads, False,
                               backbone, cal_teacher, extra=overrides)
            speeds[kind] = calibrate(cfg, shipped.MODES[kind])
            log.info("demo: %s trains at %.1f samples/s on this machine", kind, speeds[kind])
        # evaluation: every tracker on every frame of every evaluation set, timed per forward here
        model = {k: stage_config(k, "timing", out, train_sets, seed, 64, threads, False, None, None,
                                 extra=overrides)["model"] for k in ("teacher", "student")}
        kinds_eval = {"teacher": forward_ms(model["teacher"], checkpoint=teacher),
                      "student": forward_ms(model["student"])}
        frames = sum(count_frames(root) for _, _, root in data["eval_sets"])
        kinds_eval.update({name: peer_step_ms(name, threads) for name in PEERS})
        tracker_ms = ([kinds_eval["teacher"]] + [kinds_eval["student"]] * (2 * len(seeds_list))
                      + [kinds_eval[name] for name in PEERS])
        eval_s = estimate_eval_seconds(frames, tracker_ms, len(data["eval_sets"]))
        remaining = budget - (time.time() - t_start)
        plan = plan_budget(remaining, speeds, len(seeds_list), from_scratch, eval_s)
        plan.update(speeds=speeds, forward_ms=kinds_eval, eval_frames=frames)
        if plan["over_budget"]:
            log.warning("demo: --minutes %g is below what %d seed(s) need on this machine: the smallest plan "
                        "(%d samples per stage, evaluation of %d frames ~%.0f s) takes about %.1f min",
                        minutes, len(seeds_list), MIN_SAMPLES, frames, eval_s,
                        (plan["expected_seconds"] + time.time() - t_start) / 60.0)
        write_json(plan_file, plan)
    summary["plan"] = plan
    log.info("demo: plan — %s; evaluation %.0f s", ", ".join(
        f"{k} {plan['samples'][k]} samples (~{plan['seconds'][k]:.0f} s)" for k in kinds), plan["eval_seconds"])

    # 3-4. training ---------------------------------------------------------------------------------
    runs: List[Tuple[str, str, Optional[int]]] = []
    runs += [(kind, kind, None) for kind in scratch]
    for s in seeds_list:
        runs += [("baseline", f"baseline-s{s}", s), ("student", f"student-s{s}", s)]
    checkpoints: Dict[str, str] = {}
    for kind, label, s in runs:
        stage_dir = os.path.join(out, "runs", label)
        done = _finished_stage(stage_dir)
        if done:
            log.info("demo: %s already trained (%s), reusing it", label, done["checkpoint"])
            summary["stages"][label] = dict(done, reused=True)
            checkpoints[label] = done["checkpoint"]
            continue
        if kind == "teacher" and "backbone" in checkpoints:
            backbone = checkpoints["backbone"]
        cfg = stage_config(kind, f"demo-{label}", stage_dir, train_sets, seed if s is None else s,
                           plan["samples"][kind], threads, progress, backbone,
                           checkpoints.get("teacher", teacher), extra=overrides)
        log.info("demo: %s — %d epochs x %d samples", label, cfg["optim"]["epochs"],
                 cfg["data"]["train"]["samples_per_epoch"])
        rec = run_stage(kind, cfg, stage_dir, progress)
        summary["stages"][label] = rec
        checkpoints[label] = rec["checkpoint"]
    if from_scratch:
        teacher = checkpoints["teacher"]

    # 5. evaluation and reports ---------------------------------------------------------------------
    tracker_dir = os.path.join(out, "trackers")
    # every model tracks with the shipped miniature trackers' loop: their crop factors and size limit
    factors = (shipped.SEARCH_FACTOR, shipped.TEMPLATE_FACTOR)
    refs = [TrackerRef(ref="static-box", name="static-box")]
    roles = {}
    hi = f"{shipped.TEACHER_SIZE}/{shipped.TEACHER_SIZE // 2} px"
    lo = f"{shipped.STUDENT_SIZE}/{shipped.STUDENT_SIZE // 2} px"
    entries = [("teacher", None, teacher, f"frozen high-resolution teacher ({hi})")]
    for s in seeds_list:
        entries += [("student", s, checkpoints[f"student-s{s}"], f"LoReTrack student ({lo}, QKV-KD + Disc-KD), seed {s}"),
                    ("baseline", s, checkpoints[f"baseline-s{s}"], f"same-resolution baseline ({lo}, no KD), seed {s}")]
    for kind, s, ckpt, desc in entries:
        name = tracker_name(kind, s)
        path = write_tracker_file(os.path.join(tracker_dir, f"{name.replace('@', '-')}.yaml"), name, ckpt,
                                  *factors, desc, backend="eager", threads=threads,
                                  **shipped.LOOP)
        refs.append(TrackerRef(ref=path, name=name, checkpoint=os.path.abspath(ckpt), threads=threads))
        roles[name] = kind
    for name in PEERS:  # OpenCV's trackers, timed and scored in the same run as the models
        refs.append(resolve_tracker(name, threads=threads))
        roles[name] = "peer"
    t0 = time.time()
    results = {}
    for label, bench, root in data["eval_sets"]:
        result_dir = os.path.join(out, "results", label)
        report_dir = os.path.join(out, "reports", label)
        res = evaluate(bench, root, refs, result_dir=result_dir, report_dir=report_dir, workers=1)
        report = make_report(result_dir, bench, res.trackers, out_dir=os.path.join(report_dir, "comparison"),
                             report_dir=report_dir, families=roles, progress=progress, formats=("png",))
        metrics = {}
        if res.metrics_file and os.path.isfile(res.metrics_file):
            with open(res.metrics_file) as f:
                m = json.load(f)
            for name, tr in m.get("trackers", {}).items():
                o = tr.get("overall", {})
                metrics[name] = {k: o.get(k) for k in ("success_score", "precision_score", "ao", "sr", "speed_fps")
                                 if o.get(k) is not None}
        results[label] = {"benchmark": bench, "root": root, "metrics": metrics, "report": report,
                          "comparison": compare(metrics, "ao" if bench.startswith("got10k") else "success_score")}
    summary["stages"]["evaluation"] = {"seconds": time.time() - t0}
    summary["results"] = results
    summary["seconds_total"] = time.time() - t_start
    write_json(os.path.join(out, "demo_summary.json"), summary)
    return summary


# ------------------------------------------------------------------------------------------------
# what the numbers say
# ------------------------------------------------------------------------------------------------
def compare(metrics: Dict[str, Dict], key: str) -> Dict:
    """Floor, teacher, student and baseline (mean ± std over seeds) and the gain with its verdict,
    by the rules of :mod:`loretrack_plugin.report.seeds` (a gain counts only above twice its spread;
    one seed gives no spread and no verdict)."""
    from .report.seeds import gain_with_spread, mean_std, split_seed
    floor = metrics.get("static-box", {}).get(key)
    out: Dict = {"metric": key, "floor": floor, "teacher": metrics.get(tracker_name("teacher"), {}).get(key),
                 "peers": {n: {"score": metrics[n].get(key), "fps": metrics[n].get("speed_fps")}
                           for n in PEERS if n in metrics}}
    groups: Dict[str, Dict[str, float]] = {}
    for role in ("student", "baseline"):
        groups[role] = {n: m[key] for n, m in sorted(metrics.items())
                        if split_seed(n)[0] == tracker_name(role) and m.get(key) is not None}
        if groups[role]:
            mean, sd = mean_std(list(groups[role].values()))
            out[role] = {"mean": mean, "std": sd, "n": len(groups[role]), "values": groups[role]}
    if groups["student"] and groups["baseline"]:
        g = gain_with_spread(groups["student"], groups["baseline"])
        out["gain"] = {"mean": g["gain"], "std": g["spread"], "n": len(g["pairs"]) or None}
        v = g["verdict"]
        if v == "real":
            v = "a real gain (more than twice the spread)" if g["gain"] > 0 else "a real loss (more than twice the spread)"
        if floor is not None and min(out["student"]["mean"], out["baseline"]["mean"]) <= floor:
            v += "; a model is at or below the static box: it is not tracking"
        out["verdict"] = v
    return out


def format_summary(summary: Dict) -> str:
    lines = [f"demo finished in {summary['seconds_total'] / 60:.1f} min (budget {summary['minutes_budget']} min, "
             f"seeds {', '.join(map(str, summary['seeds']))})"]
    plan = summary.get("plan") or {}
    if plan.get("over_budget"):
        lines.append(f"  the budget was below this machine's minimum for {len(summary['seeds'])} seed(s): "
                     f"{MIN_SAMPLES} samples per stage and the evaluation need about "
                     f"{plan['expected_seconds'] / 60:.1f} min after planning")
    for label, r in summary["results"].items():
        c = r["comparison"]
        unit = "AO" if c["metric"] == "ao" else "AUC"
        lines.append(f"\n{label} ({r['root']}), {unit} in %:")

        def pct(v):
            return "  n/a" if v is None else f"{100 * v:5.1f}"

        lines.append(f"  static box (floor)   {pct(c['floor'])}")
        lines.append(f"  teacher              {pct(c['teacher'])}")
        for role in ("student", "baseline"):
            g = c.get(role)
            if g:
                sd = "" if g["std"] is None else f" ± {100 * g['std']:.1f}"
                lines.append(f"  {role:<20} {pct(g['mean'])}{sd}   (n={g['n']})")
        for name, p in (c.get("peers") or {}).items():
            fps = p.get("fps")
            lines.append(f"  {name:<20} {pct(p.get('score'))}   (OpenCV on this CPU"
                         + (f", {fps:.0f} fps" if fps and fps > 0 else "") + ")")
        if "gain" in c:
            g = c["gain"]
            sd = "" if g["std"] is None else f" ± {100 * g['std']:.1f}"
            lines.append(f"  student - baseline   {100 * g['mean']:+5.1f}{sd}: {c['verdict']}")
        lines.append(f"  report: {r['report']}")
    return "\n".join(lines)
