"""Speed and agreement of the inference backends, measured in one process (``loretrack bench``).

Timings on a shared 2-core machine drift ~10 % between processes, so every backend is timed in the
same run with the calls interleaved: for each frame, each backend (in an order rotated per frame)
runs its full tracker step (crop + normalise + forward + window + decode + map back), then each
runs the forward alone on the same search crop. Medians over all frames and repetitions are reported.
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
    step_ms: float         # median full tracker step
    forward_ms: float      # median forward alone
    steps: List[float] = field(default_factory=list, repr=False)
    forwards: List[float] = field(default_factory=list, repr=False)


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
                  init_box, repeats: int = 3, threads: Optional[int] = None, progress: bool = True) -> List[Timing]:
    """Interleaved timing of every backend on ``frames`` (RGB arrays; frame 0 initialises)."""
    if len(frames) < 2:
        raise ValueError("need at least 2 frames to time tracking steps")
    frames = [to_rgb_uint8(f) for f in frames]
    cores = make_cores(net, search_factor, template_factor, backends, threads)
    for core in cores.values():  # builds + warms up each backend outside the timed loop
        core.init(frames[0], init_box)
    S = net.cfg.search_size
    searches = [normalise_patch(sample_target(f, init_box, search_factor, S)[0]) for f in frames[1:]]
    steps: Dict[str, List[float]] = {b: [] for b in backends}
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
                t0 = time.perf_counter()
                cores[b].update(frame)
                steps[b].append(time.perf_counter() - t0)
            for b in order:
                t0 = time.perf_counter()
                cores[b].forward(searches[i])
                fwds[b].append(time.perf_counter() - t0)
            bar.update(1)
    bar.close()
    return [Timing(b, cores[b].backend_name, 1e3 * statistics.median(steps[b]), 1e3 * statistics.median(fwds[b]),
                   steps[b], fwds[b]) for b in backends]


def format_timings(rows: List[Timing], reference: str = "eager") -> str:
    """Table with medians, fps and speed-ups against the reference backend's forward and step."""
    ref = next((r for r in rows if r.backend == reference), None)
    head = (f"{'backend':<22}{'step ms':>9}{'fwd ms':>9}{'step fps':>10}"
            + (f"{'eager fwd/step':>16}{'eager fwd/fwd':>15}{'eager step/step':>17}" if ref else ""))
    lines = [head, "-" * len(head)]
    for r in rows:
        label = r.backend if r.backend == r.resolved else f"{r.backend}({r.resolved})"
        line = f"{label:<22}{r.step_ms:9.1f}{r.forward_ms:9.1f}{1e3 / r.step_ms:10.1f}"
        if ref:
            line += (f"{ref.forward_ms / r.step_ms:15.2f}x{ref.forward_ms / r.forward_ms:14.2f}x"
                     f"{ref.step_ms / r.step_ms:16.2f}x")
        lines.append(line)
    return "\n".join(lines)


@dataclass
class PeakCheck:
    backend: str
    frames: int = 0
    peak_mismatches: int = 0
    max_score_diff: float = 0.0
    max_map_diff: float = 0.0
    max_box_diff_free: float = 0.0   # free-running trajectory vs eager's, pixels
    eager_reruns: int = 0            # free-running frames recomputed with eager (near a discrete decision)
    first_mismatch: Optional[str] = None
    per_sequence: Dict[str, int] = field(default_factory=dict)


def check_peaks(net, search_factor: float, template_factor: float, backends: Sequence[str], seq_dirs: Sequence[str],
                threads: Optional[int] = None, max_frames: Optional[int] = None, progress: bool = True
                ) -> List[PeakCheck]:
    """Does each backend pick the same windowed peak cell as eager on every frame?

    Teacher-forced: on each frame every backend sees eager's search crop (so one early difference
    does not make all later frames differ). Also runs each backend free on its own trajectory and
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
                maps = cores[b].forward(search)
                res = results[b]
                res.frames += 1
                res.max_score_diff = max(res.max_score_diff, float((maps[0] - ref_maps[0]).abs().max()))
                res.max_map_diff = max(res.max_map_diff, max(float((m - rm).abs().max())
                                                              for m, rm in zip(maps, ref_maps)))
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
    return [results[b] for b in others]


def format_peak_checks(rows: List[PeakCheck]) -> str:
    lines = [f"{'backend':<14}{'frames':>8}{'peak mismatches':>17}{'max |score diff|':>18}{'max |map diff|':>16}"
             f"{'free-run max |box diff| px':>28}{'eager reruns':>14}"]
    for r in rows:
        lines.append(f"{r.backend:<14}{r.frames:>8}{r.peak_mismatches:>17}{r.max_score_diff:>18.2e}"
                     f"{r.max_map_diff:>16.2e}{r.max_box_diff_free:>28.5f}{r.eager_reruns:>14}"
                     + (f"   first at {r.first_mismatch}" if r.first_mismatch else ""))
    return "\n".join(lines)


def cpu_summary() -> str:
    """CPU model, family/model numbers and the instruction sets that decide the backends' speed."""
    import platform
    info = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                k, _, v = line.partition(":")
                info.setdefault(k.strip(), v.strip())
    except OSError:
        return platform.processor() or platform.machine()
    flags = set(info.get("flags", "").split())
    isa = [f for f in ("avx2", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_int8") if f in flags]
    return (f"{info.get('model name', '?')} (family {info.get('cpu family', '?')}, model {info.get('model', '?')}; "
            f"{' '.join(isa) or 'no AVX2'})")


def random_net(cfg, seed: int = 0):
    """The network with random (but reproducible) weights, for timing without a checkpoint."""
    from ..models import build_net
    torch.manual_seed(seed)
    return build_net(config=cfg)
