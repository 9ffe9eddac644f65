"""Speed and agreement of the inference backends, measured in one process (``loretrack bench``).

Timings on a shared 2-core machine drift ~10 % between processes, so every backend is timed in the
same run with the calls interleaved: for each frame, each backend (in an order rotated per frame)
runs its full tracker step (crop + normalise + forward + window + decode + map back), then each
runs the forward alone on the same search crop. Medians over all frames and repetitions are reported.

The step time of a guarded fast backend (``auto``, an exact fp32 engine) includes the frames its
guard recomputes with eager (``TrackerCore._needs_eager``): those frames are timed as they ran, and
the reported step is the frame-weighted combination of the median plain step and the median
recomputed step, so the re-runs count in proportion to how often they happen (a plain median would
hide them whenever they are rarer than one frame in two).

Speed is also stated against the machine's own GEMM peak (:mod:`.hardware`): achieved GFLOP/s of
the full step = FLOPs of one forward / step time, with FLOPs = 2 x (thop-style MACs + the attention
matmuls) from :func:`forward_flops`, as a percentage of the peak of the backend's precision.
"""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from tqdm import tqdm

from .core import TrackerCore
from .crop import sample_target
from .inputs import normalise_patch, to_rgb_uint8
from .postprocess import peak_cell
from ..formats import load_otb_sequence, read_rgb


@dataclass
class Timing:
    backend: str           # requested name
    resolved: str          # what ran (auto -> its choice)
    step_ms: float         # full tracker step, guard re-runs included (see the module docstring)
    forward_ms: float      # median forward alone
    steps: List[float] = field(default_factory=list, repr=False)
    forwards: List[float] = field(default_factory=list, repr=False)
    precision: str = "fp32"          # GEMM precision of the engine (which peak it is compared with)
    eager_reruns: int = 0            # timed steps whose maps the guard recomputed with eager
    step_median_ms: float = 0.0      # plain median of all steps (hides rare re-runs)
    step_mean_ms: float = 0.0

    @property
    def frames(self) -> int:
        return len(self.steps)

    def gflops(self, flops: float) -> float:
        """Achieved GFLOP/s of the full step for a forward of ``flops`` FLOPs."""
        return flops / (self.step_ms * 1e-3) / 1e9 if self.step_ms > 0 else 0.0

    def forward_gflops(self, flops: float) -> float:
        return flops / (self.forward_ms * 1e-3) / 1e9 if self.forward_ms > 0 else 0.0


def step_time_with_reruns(steps: Sequence[float], rerun: Sequence[bool]) -> float:
    """Frame-weighted median step: (n_plain x median(plain) + n_rerun x median(rerun)) / n."""
    if len(steps) != len(rerun) or not steps:
        raise ValueError("need one rerun flag per timed step")
    plain = [t for t, r in zip(steps, rerun) if not r]
    again = [t for t, r in zip(steps, rerun) if r]
    total = (len(plain) * statistics.median(plain) if plain else 0.0) + \
            (len(again) * statistics.median(again) if again else 0.0)
    return total / len(steps)


def forward_flops(net) -> Dict[str, float]:
    """FLOPs of one batch-1 forward: 2 x (thop-style MACs of Linear/Conv/BN + the two attention matmuls
    per block), counted with the project's profiler on the network itself."""
    from ..profiling import count_macs
    macs = count_macs(net)
    return {"flops": 2.0 * (macs["macs_thop"] + macs["macs_attn_matmul"]),
            "macs_thop": macs["macs_thop"], "macs_attn_matmul": macs["macs_attn_matmul"],
            "counted_as": "2 x (thop MACs of Linear/Conv/BatchNorm + attention q@k^T and attn@v MACs)"}


def synthetic_frames(n: int, width: int = 640, height: int = 360, seed: int = 0):
    """``n`` noisy RGB frames with a bright square drifting right, and its first (x, y, w, h) box."""
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(n):
        f = rng.integers(0, 120, size=(height, width, 3), dtype=np.uint8)
        x = 200 + 3 * i
        f[150:210, x:x + 50] = (230, 60, 40)
        frames.append(f)
    return frames, [200.0, 150.0, 50.0, 60.0]


def make_cores(net, search_factor: float, template_factor: float, backends: Sequence[str],
               threads: Optional[int]) -> Dict[str, TrackerCore]:
    return {b: TrackerCore(net, search_factor, template_factor, backend=b, threads=threads, name=f"bench[{b}]")
            for b in backends}


def time_backends(net, search_factor: float, template_factor: float, backends: Sequence[str], frames,
                  init_box, repeats: int = 3, threads: Optional[int] = None, progress: bool = True,
                  cores_out: Optional[Dict[str, TrackerCore]] = None) -> List[Timing]:
    """Interleaved timing of every backend on ``frames`` (RGB arrays; frame 0 initialises).

    ``cores_out``, if given, receives the trackers (with their built engines) by backend name.
    """
    if len(frames) < 2:
        raise ValueError("need at least 2 frames to time tracking steps")
    frames = [to_rgb_uint8(f) for f in frames]
    cores = make_cores(net, search_factor, template_factor, backends, threads)
    if cores_out is not None:
        cores_out.update(cores)
    for core in cores.values():  # builds + warms up each backend outside the timed loop
        core.init(frames[0], init_box)
    S = net.cfg.search_size
    searches = [normalise_patch(sample_target(f, init_box, search_factor, S)[0]) for f in frames[1:]]
    steps: Dict[str, List[float]] = {b: [] for b in backends}
    reruns: Dict[str, List[bool]] = {b: [] for b in backends}
    fwds: Dict[str, List[float]] = {b: [] for b in backends}
    names = list(backends)
    total = repeats * (len(frames) - 1)
    bar = tqdm(total=total, desc="bench", unit="frame", disable=not progress, leave=False)
    for r in range(repeats):
        for core in cores.values():
            core.init(frames[0], init_box)
        for i, frame in enumerate(frames[1:]):
            k = (i + r) % len(names)
            order = names[k:] + names[:k]
            for b in order:
                before = cores[b].stats["eager_reruns"]
                t0 = time.perf_counter()
                cores[b].update(frame)
                steps[b].append(time.perf_counter() - t0)
                reruns[b].append(cores[b].stats["eager_reruns"] > before)
            for b in order:
                t0 = time.perf_counter()
                cores[b].forward(searches[i])
                fwds[b].append(time.perf_counter() - t0)
            bar.update(1)
    bar.close()
    return [Timing(b, cores[b].backend_name, 1e3 * step_time_with_reruns(steps[b], reruns[b]),
                   1e3 * statistics.median(fwds[b]), steps[b], fwds[b], precision=cores[b].backend.precision,
                   eager_reruns=sum(reruns[b]), step_median_ms=1e3 * statistics.median(steps[b]),
                   step_mean_ms=1e3 * statistics.fmean(steps[b])) for b in backends]


def format_timings(rows: List[Timing], reference: str = "eager", flops: Optional[float] = None,
                   peaks: Optional[Dict[str, object]] = None) -> str:
    """Table with step/forward times, fps, speed-ups against the reference backend's forward and step,
    the guard's eager re-runs and, given ``flops`` (one forward) and ``peaks`` (GEMM peak per
    precision), the step's achieved GFLOP/s and its percentage of the peak of the backend's precision."""
    from .hardware import percent_of_peak
    ref = next((r for r in rows if r.backend == reference), None)
    head = (f"{'backend':<26}{'step ms':>9}{'fwd ms':>9}{'step fps':>10}"
            + (f"{'eager fwd/step':>16}{'eager fwd/fwd':>15}{'eager step/step':>17}" if ref else "")
            + f"{'reruns':>9}"
            + (f"{'step GFLOP/s':>14}{'% of peak':>11}{'prec':>6}" if flops else ""))
    lines = [head, "-" * len(head)]
    for r in rows:
        label = r.backend if r.backend == r.resolved else f"{r.backend}({r.resolved})"
        line = f"{label:<26}{r.step_ms:9.1f}{r.forward_ms:9.1f}{1e3 / r.step_ms:10.1f}"
        if ref:
            line += (f"{ref.forward_ms / r.step_ms:15.2f}x{ref.forward_ms / r.forward_ms:14.2f}x"
                     f"{ref.step_ms / r.step_ms:16.2f}x")
        line += f"{f'{r.eager_reruns}/{r.frames}':>9}"
        if flops:
            pct = percent_of_peak(r.gflops(flops), peaks or {}, r.precision)
            line += f"{r.gflops(flops):14.1f}{(f'{pct:.1f} %' if pct is not None else 'n/a'):>11}{r.precision:>6}"
        lines.append(line)
    return "\n".join(lines)


def timing_record(r: Timing, flops: Optional[float] = None, peaks: Optional[Dict[str, object]] = None
                  ) -> Dict[str, object]:
    """One backend's timing as a JSON-ready dict (with GFLOP/s and % of peak when ``flops`` is given)."""
    from .hardware import percent_of_peak
    rec: Dict[str, object] = {"backend": r.backend, "resolved": r.resolved, "precision": r.precision,
                              "step_ms": r.step_ms, "forward_ms": r.forward_ms, "step_median_ms": r.step_median_ms,
                              "step_mean_ms": r.step_mean_ms, "frames": r.frames, "eager_reruns": r.eager_reruns}
    if flops:
        rec["step_gflops"] = r.gflops(flops)
        rec["forward_gflops"] = r.forward_gflops(flops)
        rec["step_percent_of_peak"] = percent_of_peak(r.gflops(flops), peaks or {}, r.precision)
        rec["forward_percent_of_peak"] = percent_of_peak(r.forward_gflops(flops), peaks or {}, r.precision)
    return rec


@dataclass
class PeakCheck:
    backend: str
    frames: int = 0
    peak_mismatches: int = 0
    max_score_diff: float = 0.0
    max_map_diff: float = 0.0
    max_box_diff_free: float = 0.0   # free-running trajectory vs eager's, pixels
    eager_reruns: int = 0            # free-running frames recomputed with eager (near a discrete decision)
    raw_peak_mismatches: int = 0     # teacher-forced, the engine's own maps without the guard's re-runs
    guard_reruns: int = 0            # teacher-forced frames the guard recomputed with eager
    first_mismatch: Optional[str] = None
    per_sequence: Dict[str, int] = field(default_factory=dict)
    resolved: Optional[str] = None   # what ran (auto -> its choice)
    precision: str = "fp32"

    @property
    def agrees(self) -> bool:
        """The guard of a fast path: eager's peak cell on every checked frame."""
        return self.frames > 0 and self.peak_mismatches == 0

    def as_dict(self) -> Dict[str, object]:
        d = dict(vars(self))
        d["agrees"] = self.agrees
        return d


def check_peaks(net, search_factor: float, template_factor: float, backends: Sequence[str], seq_dirs: Sequence[str],
                threads: Optional[int] = None, max_frames: Optional[int] = None, progress: bool = True
                ) -> List[PeakCheck]:
    """Does each backend pick the same windowed peak cell as eager on every frame?

    Teacher-forced: on each frame every backend sees eager's search crop (so one early difference
    does not make all later frames differ) and decides as its tracker would, guard included (a frame
    the guard recomputes with eager counts in ``guard_reruns``); ``raw_peak_mismatches`` counts the
    engine's own maps without the guard. Also runs each backend free on its own trajectory and
    reports the largest box difference to eager's boxes, in pixels.
    """
    others = [b for b in backends if b != "eager"]
    cores = make_cores(net, search_factor, template_factor, ["eager"] + others, threads)
    free = make_cores(net, search_factor, template_factor, others, threads)
    results = {b: PeakCheck(b) for b in others}
    for seq in seq_dirs:
        paths, gt = load_otb_sequence(seq)
        if max_frames:
            paths = paths[:max_frames]
        name = seq.rstrip("/").split("/")[-1]
        first = read_rgb(paths[0])
        for b, core in cores.items():
            core.init(first, gt[0])
        for b in others:
            if free[b].backend is None:  # share the built engine instead of converting twice
                free[b].share_backend(cores[b])
            free[b].init(first, gt[0])
        ref = cores["eager"]
        for fi, p in enumerate(tqdm(paths[1:], desc=f"check {name}", unit="frame", disable=not progress,
                                    leave=False), start=2):
            image = read_rgb(p)
            search, rf = ref.search_crop(image)
            ref_maps = ref.forward(search)
            ref_peak = peak_cell(ref.window * ref_maps[0])
            for b in others:
                core = cores[b]
                core.state = list(ref.state)  # the guard's crop-rounding test looks at the current state
                maps = core.forward(search)
                res = results[b]
                res.frames += 1
                res.max_score_diff = max(res.max_score_diff, float((maps[0] - ref_maps[0]).abs().max()))
                res.max_map_diff = max(res.max_map_diff, max(float((m - rm).abs().max())
                                                              for m, rm in zip(maps, ref_maps)))
                if peak_cell(ref.window * maps[0]) != ref_peak:
                    res.raw_peak_mismatches += 1
                if core._needs_eager(image.shape[:2], maps, rf):
                    res.guard_reruns += 1
                    maps = core._eager(core.template, search)
                if peak_cell(ref.window * maps[0]) != ref_peak:
                    res.peak_mismatches += 1
                    res.per_sequence[name] = res.per_sequence.get(name, 0) + 1
                    if res.first_mismatch is None:
                        res.first_mismatch = f"{name} frame {fi}"
            ref_box, _ = ref.update_from_maps(image.shape[:2], ref_maps, rf)
            for b in others:
                box, _ = free[b].update(image)
                results[b].max_box_diff_free = max(results[b].max_box_diff_free, float(np.abs(box - ref_box).max()))
    for b in others:
        results[b].eager_reruns = free[b].stats["eager_reruns"]
        if cores[b].backend is not None:
            results[b].resolved, results[b].precision = cores[b].backend_name, cores[b].backend.precision
    return [results[b] for b in others]


def format_peak_checks(rows: List[PeakCheck]) -> str:
    lines = [f"{'backend':<14}{'prec':>5}{'frames':>8}{'peak mismatches':>17}{'unguarded':>11}{'guard reruns':>14}"
             f"{'max |score diff|':>18}{'max |map diff|':>16}{'free-run max |box diff| px':>28}{'free reruns':>13}"
             "  verdict"]
    for r in rows:
        lines.append(f"{r.backend:<14}{r.precision:>5}{r.frames:>8}{r.peak_mismatches:>17}{r.raw_peak_mismatches:>11}"
                     f"{r.guard_reruns:>14}{r.max_score_diff:>18.2e}"
                     f"{r.max_map_diff:>16.2e}{r.max_box_diff_free:>28.5f}{r.eager_reruns:>13}  "
                     + ("same peak as eager" if r.agrees else "DIFFERS from eager" if r.frames else "no frames")
                     + (f" (first at {r.first_mismatch})" if r.first_mismatch else ""))
    return "\n".join(lines)


def cpu_summary() -> str:
    """CPU model, family/model numbers and the instruction sets that decide the backends' speed."""
    from .hardware import cpu_summary as summary
    return summary()


def random_net(cfg, seed: int = 0):
    """The network with random (but reproducible) weights, for timing without a checkpoint."""
    from ..models import build_net
    torch.manual_seed(seed)
    return build_net(config=cfg)
