"""Throughput of one distillation step (teacher forward + student forward/backward + AdamW step).

Compares how the frozen teacher runs:

* ``inference``: under ``torch.inference_mode`` (this trainer's default);
* ``autograd``: grad mode on with frozen parameters (what the official code does; no graph is kept
  because nothing needs a gradient, but autograd bookkeeping still runs);
* ``unfrozen``: grad mode on and the teacher's parameters *not* frozen — the mistake of forgetting
  ``requires_grad_(False)``: the KD targets then carry a graph and backward runs through the teacher.

Usage: ``python -m loretrack_plugin.train.distill_throughput [--width 192 --depth 4 --student 64 --teacher 128]``.
Modes are interleaved step by step in one process (CPU timings drift between processes).
"""
from __future__ import annotations

import argparse
import statistics
import time
from typing import Dict, Sequence

import torch

from ..models.net import build_net
from .actor import DistillActor
from .trainer import freeze


def distill_step_throughput(student_size: int = 64, teacher_size: int = 128, width: int = 192, depth: int = 4,
                            heads: int = 3, head_channels: int = 64, batch: int = 16, steps: int = 5,
                            modes: Sequence[str] = ("inference", "autograd", "unfrozen"),
                            threads: int = None, seed: int = 0) -> Dict[str, dict]:
    """Median samples/s per mode; every mode trains its own copy of the same student on the same batch."""
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    kw = dict(embed_dim=width, depth=depth, num_heads=heads, head_channels=head_channels)
    teacher = build_net(teacher_size, **kw)
    base_student = build_net(student_size, **kw)
    g = torch.Generator().manual_seed(seed)
    batch_t = {"template": torch.randn(batch, 3, teacher_size // 2, teacher_size // 2, generator=g),
               "search": torch.randn(batch, 3, teacher_size, teacher_size, generator=g),
               "search_box": torch.tensor([[0.4, 0.4, 0.2, 0.2]]).repeat(batch, 1)}
    runs = {}
    for mode in modes:
        t = build_net(teacher_size, **kw)
        t.load_state_dict(teacher.state_dict())
        if mode == "unfrozen":
            t.eval()
        else:
            freeze(t)
        s = build_net(student_size, **kw)
        s.load_state_dict(base_student.state_dict())
        s.train()
        actor = DistillActor(s, t, teacher_forward="inference" if mode == "inference" else "autograd")
        opt = torch.optim.AdamW([p for p in s.parameters() if p.requires_grad], lr=1e-4)
        runs[mode] = (actor, opt, [])

    def step(actor, opt):
        opt.zero_grad(set_to_none=True)
        loss, _ = actor(batch_t)
        loss.backward()
        opt.step()

    for mode, (actor, opt, _) in runs.items():  # warm-up
        step(actor, opt)
    for _ in range(steps):
        for mode, (actor, opt, times) in runs.items():
            t0 = time.perf_counter()
            step(actor, opt)
            times.append(time.perf_counter() - t0)
    out = {}
    for mode, (_, _, times) in runs.items():
        med = statistics.median(times)
        out[mode] = {"seconds_per_step": med, "samples_per_s": batch / med, "steps": len(times)}
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--student", type=int, default=64)
    p.add_argument("--teacher", type=int, default=128)
    p.add_argument("--width", type=int, default=192)
    p.add_argument("--depth", type=int, default=4)
    p.add_argument("--heads", type=int, default=3)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--threads", type=int, default=None)
    a = p.parse_args(argv)
    res = distill_step_throughput(a.student, a.teacher, a.width, a.depth, a.heads, batch=a.batch, steps=a.steps,
                                  threads=a.threads)
    print(f"distillation step, student {a.student}/{a.student // 2}, teacher {a.teacher}/{a.teacher // 2}, "
          f"width {a.width}, depth {a.depth}, batch {a.batch}, {torch.get_num_threads()} threads (median of {a.steps})")
    for mode, r in res.items():
        print(f"  teacher {mode:10s} {r['samples_per_s']:8.1f} samples/s   {r['seconds_per_step'] * 1000:8.1f} ms/step")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
