"""The miniature recipe on one GPU within a fixed time: teacher, then student and baseline per seed.

    python experiments/mini/gpu_run.py --real-data DIR --out OUT --budget 500 --seeds 0,1,2

What it does, in order, all under ``--budget`` seconds of training:

1. **AMP + DDP check.** A process group (NCCL on a GPU, gloo on a CPU) is created, the teacher's
   network is wrapped in ``DistributedDataParallel`` and a few mixed-precision training steps run
   on real batches (``Trainer.profile_data``). With one GPU the group has one process: this checks the
   wiring (NCCL start, the DDP reducer, autocast), not the scaling.
2. **Calibration.** The same call measures the data loader's samples/s with ``--workers`` workers
   and the training step's samples/s; the smaller of the two sets every stage's number of samples,
   so the stages fit the budget whatever the machine.
3. **Teacher** (``mini/teacher``, 192/96 px) from the backbone, ``--teacher-share`` of the budget.
4. **Student** (``mini/student``, distilled from step 3's teacher) **and baseline**
   (``mini/baseline``) for every seed, the pair of one seed running side by side with half the
   loader workers each; both get the same number of samples, so they see the same samples.

Each stage is a separate ``loretrack train`` / ``loretrack distill`` process with a generated config
(kept in its run folder). A stage that outruns its share by half is stopped and its last finished
epoch is kept. Every finished network is exported as a small fp16 checkpoint with its training
record (config, steps, stats; no optimiser state) under ``<out>/export``: these are what comes back
from a lent machine and what ``experiments/mini/ship.py`` and ``experiments/mini_repro/run.py`` read.
``<out>/gpu_run.json`` records the plan, the calibration, the check and every stage's timing.

Learning rates: the recipe's (set for batch 16 on a CPU) are kept at ``--batch`` (default 128, the
published global batch, for which the published 4e-4 was chosen).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

KEEP = ("epoch", "step", "world_size", "batch_size", "train_config", "stats", "mode")


def plan_samples(rate: float, seconds: float, batch: int, per_epoch: int, safety: float = 0.85) -> dict:
    """Epochs and samples per epoch for ``seconds`` at ``rate`` samples/s (``safety`` keeps a margin
    for start-up and validation). At least one epoch of at least one batch; the learning-rate drop
    after 80 % of the epochs, as in the published schedule."""
    if rate <= 0 or seconds <= 0:
        raise ValueError(f"plan_samples: rate {rate} and seconds {seconds} must be positive")
    total = max(batch, int(rate * seconds * safety))
    epochs = max(1, total // per_epoch)
    per = max(batch, min(per_epoch, total) // batch * batch)
    return {"epochs": int(epochs), "samples_per_epoch": int(per), "samples": int(epochs * per),
            "lr_drop_epoch": max(1, round(0.8 * epochs))}


def export(run_dir: str, dst: str) -> str:
    """The run's latest network in fp16 with its training record, without optimiser state."""
    import torch
    from loretrack_plugin.utils.files import atomic_path
    state = torch.load(os.path.join(run_dir, "checkpoints", "latest.pth.tar"), map_location="cpu",
                       weights_only=False)
    obj = {k: v for k, v in state.items() if k not in ("optimizer", "scheduler", "scaler", "rng")}
    obj["net"] = {k: v.half() if v.is_floating_point() else v for k, v in state["net"].items()}
    obj["exported_from"] = os.path.abspath(run_dir)
    with atomic_path(dst) as tmp:
        torch.save(obj, tmp)
    return dst


def stage_config(recipe: str, over: dict, path: str) -> str:
    from loretrack_plugin.recipes import recipe_path
    from loretrack_plugin.train.config import dump_config, load_config
    from loretrack_plugin.utils.files import write_text
    cfg = load_config(recipe_path(recipe), [over])
    write_text(path, dump_config(cfg))
    return path


def ddp_check(config, over: dict, steps: int) -> dict:
    """Mixed-precision steps through DistributedDataParallel in a one-process group; returns the
    backend, the precision and the loader / step rates (the calibration). ``config``: a recipe name
    (``mini/teacher``), a YAML path or a config mapping."""
    import torch
    import torch.distributed as dist
    from loretrack_plugin.recipes import recipe_path
    from loretrack_plugin.train.trainer import Trainer
    cuda = torch.cuda.is_available()
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ.setdefault("MASTER_PORT", "29533")
    backend = "nccl" if cuda else "gloo"
    if cuda:
        torch.cuda.set_device(0)
    dist.init_process_group(backend, rank=0, world_size=1)
    try:
        if isinstance(config, str) and not os.path.isfile(config):
            config = recipe_path(config)
        tr = Trainer(config, mode="train", overrides=[over], progress=False)
        try:
            tr.model = torch.nn.parallel.DistributedDataParallel(
                tr.student, device_ids=[tr.device.index] if cuda else None)
            tr.actor = tr._build_actor()
            t0 = time.perf_counter()
            prof = tr.profile_data(steps=steps)
            prof["seconds"] = time.perf_counter() - t0
            t = torch.ones(1, device=tr.device)
            dist.all_reduce(t)
            prof.update({"backend": dist.get_backend(), "ddp": type(tr.model).__name__, "all_reduce": t.item(),
                         "loss_last_step": tr.step_losses[-1] if tr.step_losses else None,
                         "gpu": torch.cuda.get_device_name(0) if cuda else None, "torch": torch.__version__})
        finally:
            tr.close()
    finally:
        dist.destroy_process_group()
    return prof


def launch(kind: str, cfg_path: str, log_path: str, teacher: str = None) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "loretrack_plugin", "distill" if kind == "student" else "train",
           "--config", cfg_path, "--no-progress"]
    if teacher:
        cmd += ["--teacher", teacher]
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""), PYTHONUNBUFFERED="1")
    with open(log_path, "w") as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)


def wait_all(procs: dict, limit: float) -> dict:
    """Wait for every process; stop those still running after ``limit`` seconds. Returns exit codes
    (``"stopped"`` for a process that was stopped)."""
    t0, codes = time.time(), {}
    while len(codes) < len(procs):
        for name, p in procs.items():
            if name not in codes and p.poll() is not None:
                codes[name] = p.returncode
        if time.time() - t0 > limit:
            for name, p in procs.items():
                if name not in codes:
                    p.terminate()
                    try:
                        p.wait(20)
                    except subprocess.TimeoutExpired:
                        p.kill()
                    codes[name] = "stopped"
        time.sleep(1.0)
    return codes


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--real-data", required=True, help="folder of OTB-layout training videos (real-train)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--budget", type=float, default=500.0, help="seconds of training, all stages [%(default)s]")
    ap.add_argument("--teacher-share", type=float, default=0.45)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=4e-4)
    ap.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2) - 1))
    ap.add_argument("--backbone", default="shipped:backbone")
    ap.add_argument("--check-steps", type=int, default=15)
    ap.add_argument("--hard-limit", type=float, default=None,
                    help="seconds after which every stage still running is stopped [budget x 1.15 + 30]")
    args = ap.parse_args(argv)
    if not os.path.isdir(args.real_data):
        sys.exit(f"--real-data {args.real_data}: no such folder")
    os.environ["LORETRACK_REAL_TRAIN"] = os.path.abspath(args.real_data)
    out = os.path.abspath(args.out)
    os.makedirs(os.path.join(out, "export"), exist_ok=True)
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    from loretrack_plugin.utils.files import write_json
    record = {"args": vars(args), "stages": {}}
    t_start = time.time()
    hard = args.hard_limit or args.budget * 1.15 + 30

    def limit(planned: float) -> float:
        """A stage may outrun its share by half, never the hard limit."""
        return max(5.0, min(1.5 * planned + 60, hard - (time.time() - t_start)))

    def save_record():
        record["seconds_total"] = time.time() - t_start
        write_json(os.path.join(out, "gpu_run.json"), record)

    common = {"optim": {"batch_size": args.batch, "lr": args.lr, "reference_batch": args.batch, "amp": True},
              "run": {"tensorboard": False, "device": "auto", "save_last": 1, "save_every_steps": 0,
                      "log_every": 50}, "model": {"init": args.backbone}}
    # 1-2: the check and the calibration
    over = {**common, "data": {"num_workers": args.workers},
            "run": {**common["run"], "output_dir": os.path.join(out, "ddp-check")}}
    prof = ddp_check("mini/teacher", over, args.check_steps)
    rate = min(prof["loader_samples_per_s"], prof["step_samples_per_s"])
    record["ddp_check"] = prof
    print(f"check: {prof['backend']} {prof['ddp']} {prof['precision']} on {prof['device']}: loader "
          f"{prof['loader_samples_per_s']:.0f} samples/s, step {prof['step_samples_per_s']:.0f} samples/s", flush=True)
    save_record()

    # 3: teacher
    t_teacher = args.budget * args.teacher_share
    plan = plan_samples(rate, t_teacher, args.batch, per_epoch=65536)
    run_dir = os.path.join(out, "teacher")
    os.makedirs(run_dir, exist_ok=True)
    cfg = stage_config("mini/teacher", {**common, "run": {**common["run"], "output_dir": run_dir,
                                                             "save_every": plan["epochs"]},
                                        "data": {"num_workers": args.workers,
                                                 "train": {"samples_per_epoch": plan["samples_per_epoch"]},
                                                 "val": {"every": 2}},
                                        "optim": {**common["optim"], "epochs": plan["epochs"],
                                                  "lr_drop_epoch": plan["lr_drop_epoch"]}},
                       os.path.join(run_dir, "gpu_config.yaml"))
    t0 = time.time()
    codes = wait_all({"teacher": launch("teacher", cfg, os.path.join(run_dir, "train.log"))}, limit(t_teacher))
    teacher = export(run_dir, os.path.join(out, "export", "teacher.pth.tar"))
    record["stages"]["teacher"] = {"plan": plan, "seconds": time.time() - t0, "exit": codes["teacher"]}
    print(f"teacher: {plan['samples']} samples planned, {time.time() - t0:.0f} s, exit {codes['teacher']}", flush=True)
    save_record()

    # 4: student and baseline per seed, side by side
    left = args.budget - (time.time() - t_start)
    t_pair = max(30.0, left / max(1, len(seeds)))
    plan = plan_samples(rate / 2, t_pair, args.batch, per_epoch=16384)
    for seed in seeds:
        procs, dirs = {}, {}
        t0 = time.time()
        for kind in ("student", "baseline"):
            run_dir = dirs[kind] = os.path.join(out, f"{kind}-s{seed}")
            os.makedirs(run_dir, exist_ok=True)
            over = {**common, "run": {**common["run"], "output_dir": run_dir, "seed": seed,
                                      "save_every": plan["epochs"]},
                    "data": {"num_workers": max(1, args.workers // 2),
                             "train": {"samples_per_epoch": plan["samples_per_epoch"]}, "val": {"every": 1}},
                    "optim": {**common["optim"], "epochs": plan["epochs"], "lr_drop_epoch": plan["lr_drop_epoch"]}}
            cfg = stage_config(f"mini/{kind}", over, os.path.join(run_dir, "gpu_config.yaml"))
            procs[kind] = launch(kind, cfg, os.path.join(run_dir, "train.log"),
                                 teacher=teacher if kind == "student" else None)
        codes = wait_all(procs, limit(t_pair))
        for kind, run_dir in dirs.items():
            try:
                export(run_dir, os.path.join(out, "export", f"{kind}-s{seed}.pth.tar"))
            except FileNotFoundError:
                codes[kind] = f"{codes[kind]} (no checkpoint)"
            record["stages"][f"{kind}-s{seed}"] = {"plan": plan, "seconds": time.time() - t0, "exit": codes[kind]}
        print(f"seed {seed}: {plan['samples']} samples each, {time.time() - t0:.0f} s, exits {codes}", flush=True)
        save_record()
    return 0


if __name__ == "__main__":
    sys.exit(main())
