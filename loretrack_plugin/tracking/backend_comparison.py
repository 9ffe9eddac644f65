"""Speed and agreement of the inference backends, measured in one process (``loretrack bench``).

Timings on a shared 2-core machine drift ~10 % between processes, so every backend is timed in the
same run, one backend at a time: each repetition runs every backend (in an order rotated per
repetition) as a block over all frames, first its full tracker steps (crop + normalise + forward +
window + decode + map back), then the forward alone on the same search crops. Medians over all
frames and repetitions are reported.

Blocks, not calls interleaved frame by frame: every engine keeps its own worker threads (PyTorch's
OpenMP pool, OpenVINO's TBB arena, ONNX Runtime's pool), and after a call they keep spinning for a
while. Interleaved per frame on 2 cores, each engine ran while the previous one's threads still
held the cores: on 2026-11-30 (Zen 4, 2 threads) the student's eager step measured 26-28 ms
interleaved with OpenVINO and ONNX Runtime against 9-16 ms alone, OpenVINO's 9.6 ms against
4.9-7.6 ms. A tracker runs one engine, so that is what is timed. Before each block the backend
runs a few untimed forwards after a short pause (:data:`BLOCK_WARMUP`, :data:`BLOCK_PAUSE_S`),
so the previous block's threads have gone idle.

The step time of a guarded fast backend includes the frames its guard recomputes
(``TrackerCore._needs_eager``: with eager after an exact fp32 engine such as ``auto``'s; with the
fastest exact fp32 engine, then eager only where that one is tied, after bf16/int8): those frames
are timed as they ran, and the reported step is the frame-weighted combination of the median step of
each kind (plain, rechecked in fp32, recomputed with eager), so the re-runs count in proportion to
how often they happen (a plain median would hide them whenever they are rarer than one frame in
two).

OpenCV's trackers (the CPU peers, ``--peers``: ``opencv-nano``...) are timed in the same rotation, each
as its own block of full steps (``update`` on every frame after an untimed ``init``), so the speed
ratio between LoReTrack and the tracker a user would otherwise run holds for the same frames, the same
machine state and the same run (:class:`PeerTiming`).

Speed is also stated against the machine's own GEMM peak (:mod:`.hardware`): achieved GFLOP/s of
the full step = FLOPs of one forward / step time, with FLOPs = 2 x (thop-style MACs + the attention
matmuls) from :func:`forward_flops`, as a percentage of the peak of the backend's precision.

Agreement (:func:`check_peaks`) is measured on real sequences: the peak cell each backend picks on
eager's crops, and the got10k success AUC of each backend's own tracker run against eager's
(``AUC = mean over 21 IoU thresholds t of the fraction of frames with IoU > t``, per-sequence curves
averaged over sequences, :mod:`loretrack_plugin.got10k_metrics`). How far eager's own AUC moves
under a change nobody could see (``eager_noise_runs``: every frame dithered by at most one grey level)
tells whether an AUC difference of a backend says anything about its precision.
"""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence

import numpy as np
import torch
from tqdm import tqdm

from .backends import EXACT_TOL
from .core import TrackerCore
from .crop import sample_target
from .hardware import achieved_gflops, peak_gflops, percent_of_peak
from .inputs import normalise_patch, to_rgb_uint8
from .postprocess import peak_cell
from ..formats import load_otb_sequence, read_rgb
from ..got10k_metrics import got10k_overall, got10k_sequence


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
    exact_reruns: int = 0            # timed steps rechecked with the fast exact fp32 engine (bf16/int8)
    step_median_ms: float = 0.0      # plain median of all steps (hides rare re-runs)
    step_mean_ms: float = 0.0
    reason: str = ""                 # why this engine ran (``auto``: what it chose and rejected)
    diff_vs_eager: float = 0.0       # max |map difference| to eager on the warm-up input

    @property
    def frames(self) -> int:
        return len(self.steps)

    def gflops(self, flops: float) -> float:
        """Achieved GFLOP/s of the full step: ``flops`` (one forward) / step time."""
        return achieved_gflops(flops, self.step_ms)

    def forward_gflops(self, flops: float) -> float:
        """Achieved GFLOP/s of the forward alone: ``flops`` / forward time."""
        return achieved_gflops(flops, self.forward_ms)


@dataclass
class PeerTiming:
    """An OpenCV peer timed in the rotation of :func:`time_backends`: its full steps (``update``), the
    engine and the threads OpenCV ran with."""
    name: str
    engine: str
    threads: int                     # OpenCV's thread count while it ran
    steps: List[float] = field(default_factory=list, repr=False)
    lost: int = 0                    # timed frames on which OpenCV reported the target lost

    @property
    def step_ms(self) -> float:
        return 1e3 * statistics.median(self.steps)

    @property
    def frames(self) -> int:
        return len(self.steps)

    def record(self, rows: Sequence[Timing] = (), reference: Optional[Timing] = None) -> Dict[str, object]:
        """JSON-ready, with ``step_ms / row.step_ms`` for every LoReTrack backend row of the same run
        (> 1: LoReTrack's step is that many times shorter) and ``reference``'s named apart."""
        rec: Dict[str, object] = {"peer": self.name, "engine": self.engine, "opencv_threads": self.threads,
                                  "step_ms": self.step_ms, "step_fps": 1e3 / self.step_ms,
                                  "step_mean_ms": 1e3 * statistics.fmean(self.steps), "frames": self.frames,
                                  "lost_frames": self.lost,
                                  "speed_ratio_by_backend": {r.backend: self.step_ms / r.step_ms for r in rows}}
        if reference is not None:
            rec.update(reference=reference.backend, reference_step_ms=reference.step_ms,
                       speed_ratio=self.step_ms / reference.step_ms)
        return rec


def peer_reference(rows: Sequence[Timing]) -> Optional[Timing]:
    """The LoReTrack row a peer is compared with: ``auto`` (what a tracker runs by default) when it was
    timed, else the fastest timed backend."""
    return next((r for r in rows if r.backend == "auto"), None) or min(rows, key=lambda r: r.step_ms, default=None)


def step_time_with_reruns(steps: Sequence[float], rerun: Sequence[object]) -> float:
    """Frame-weighted median step: sum over the kinds k of step (plain, and each kind of re-run, e.g.
    ``False``/``True`` or ``None``/``"exact"``/``"eager"``) of n_k x median(steps of kind k), over n."""
    if len(steps) != len(rerun) or not steps:
        raise ValueError("need one rerun flag per timed step")
    kinds: Dict[object, List[float]] = {}
    for t, r in zip(steps, rerun):
        kinds.setdefault(r or None, []).append(t)
    return sum(len(ts) * statistics.median(ts) for ts in kinds.values()) / len(steps)


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
               threads: Optional[int], fp32_recheck: bool = True,
               loop: Optional[Mapping] = None) -> Dict[str, TrackerCore]:
    """One tracker per backend; ``loop``: TrackerCore's loop options (a spec's ``loop``; None = official)."""
    return {b: TrackerCore(net, search_factor, template_factor, backend=b, threads=threads, name=f"bench[{b}]",
                           measure_only=True,
                           fp32_recheck=fp32_recheck, **(loop or {})) for b in backends}


BLOCK_WARMUP = 3      # untimed forwards before each backend's block
BLOCK_PAUSE_S = 0.3   # pause before them: the previous engine's worker threads stop spinning


def time_backends(net, search_factor: float, template_factor: float, backends: Sequence[str], frames,
                  init_box, repeats: int = 3, threads: Optional[int] = None, progress: bool = True,
                  cores_out: Optional[Dict[str, TrackerCore]] = None, fp32_recheck: bool = True,
                  loop: Optional[Mapping] = None, peers: Optional[Mapping[str, object]] = None,
                  peers_out: Optional[Dict[str, PeerTiming]] = None) -> List[Timing]:
    """Timing of every backend on ``frames`` (RGB arrays; frame 0 initialises), one backend at a
    time per repetition (see the module docstring).

    ``cores_out``, if given, receives the trackers (with their built engines) by backend name.
    ``peers``: {name: tracker with ``init(frame, box)`` / ``update(frame)``} (OpenCV's, see
    :mod:`loretrack_plugin.trackers.opencv_peers`), timed as blocks of the same rotation; their
    :class:`PeerTiming` go into ``peers_out``.
    """
    if len(frames) < 2:
        raise ValueError("need at least 2 frames to time tracking steps")
    frames = [to_rgb_uint8(f) for f in frames]
    cores = make_cores(net, search_factor, template_factor, backends, threads, fp32_recheck, loop)
    if cores_out is not None:
        cores_out.update(cores)
    for core in cores.values():  # builds + warms up each backend outside the timed loop
        core.init(frames[0], init_box)
    S = net.cfg.search_size
    searches = [normalise_patch(sample_target(f, init_box, search_factor, S)[0]) for f in frames[1:]]
    steps: Dict[str, List[float]] = {b: [] for b in backends}
    reruns: Dict[str, List[Optional[str]]] = {b: [] for b in backends}
    fwds: Dict[str, List[float]] = {b: [] for b in backends}
    peers = dict(peers or {})
    timed_peers: Dict[str, PeerTiming] = {}
    for name, peer in peers.items():  # the first init loads its model: outside the timed loop
        peer.init(frames[0], init_box)
        timed_peers[name] = PeerTiming(name, getattr(peer, "backend_name", type(peer).__name__), 0)
    names = list(backends) + list(peers)
    bar = tqdm(total=repeats * len(names) * (len(frames) - 1), desc="bench", unit="frame", disable=not progress,
               leave=False)
    for r in range(repeats):
        shift = r % len(names)
        for b in names[shift:] + names[:shift]:
            if b in timed_peers:
                _time_peer(peers[b], timed_peers[b], frames, init_box, bar)
                continue
            core = cores[b]
            time.sleep(BLOCK_PAUSE_S)
            for _ in range(BLOCK_WARMUP):
                core.forward(searches[0])
            core.init(frames[0], init_box)
            for frame in frames[1:]:
                before = dict(core.stats)
                t0 = time.perf_counter()
                core.update(frame)
                steps[b].append(time.perf_counter() - t0)
                reruns[b].append(next((k for k in ("eager", "exact")
                                       if core.stats[f"{k}_reruns"] > before[f"{k}_reruns"]), None))
                bar.update(1)
            for search in searches:
                t0 = time.perf_counter()
                core.forward(search)
                fwds[b].append(time.perf_counter() - t0)
    bar.close()
    if peers_out is not None:
        peers_out.update(timed_peers)
    return [Timing(b, cores[b].backend_name, 1e3 * step_time_with_reruns(steps[b], reruns[b]),
                   1e3 * statistics.median(fwds[b]), steps[b], fwds[b], precision=cores[b].backend.precision,
                   eager_reruns=reruns[b].count("eager"), exact_reruns=reruns[b].count("exact"),
                   step_median_ms=1e3 * statistics.median(steps[b]),
                   step_mean_ms=1e3 * statistics.fmean(steps[b]), reason=cores[b].backend_reason,
                   diff_vs_eager=cores[b].backend_diff) for b in backends]


def _time_peer(peer, timing: PeerTiming, frames, init_box, bar) -> None:
    """One block of a peer: an untimed ``init`` on frame 0, then every ``update`` timed."""
    import cv2
    time.sleep(BLOCK_PAUSE_S)
    peer.init(frames[0], init_box)
    timing.threads = cv2.getNumThreads()  # what OpenCV ran with (the peer sets it on init)
    for frame in frames[1:]:
        t0 = time.perf_counter()
        peer.update(frame)
        timing.steps.append(time.perf_counter() - t0)
        bar.update(1)
    timing.lost += getattr(peer, "lost_frames", 0)


def format_peer_timings(peers: Sequence[PeerTiming], reference: Optional[Timing], tracker: str) -> str:
    """The peers' full steps beside ``reference`` (a LoReTrack backend's row of the same run): fps and
    the speed ratio ``peer step / LoReTrack step`` (> 1: LoReTrack is that many times faster)."""
    ref = f"{tracker} ({_label(reference)})" if reference is not None else None
    head = (f"{'peer':<16}{'engine':<28}{'threads':>8}{'step ms':>9}{'step fps':>10}"
            + (f"  {ref} vs peer" if ref else ""))
    lines = [head, "-" * len(head)]
    for p in peers:
        line = f"{p.name:<16}{p.engine:<28}{p.threads:>8}{p.step_ms:9.1f}{1e3 / p.step_ms:10.1f}"
        if reference is not None:
            ratio = p.step_ms / reference.step_ms
            line += f"  x{ratio:.2f} ({tracker} {'faster' if ratio > 1 else 'slower' if ratio < 1 else 'as fast'})"
        lines.append(line)
    return "\n".join(lines)


def _reruns(r: Timing) -> str:
    """``eager/frames``, with ``+ fp32`` re-checks of a reduced-precision path when there were any."""
    return f"{r.eager_reruns}/{r.frames}" + (f" +{r.exact_reruns} fp32" if r.exact_reruns else "")


def _label(r: Timing) -> str:
    return r.backend if r.backend == r.resolved else f"{r.backend}({r.resolved})"


def format_timings(rows: List[Timing], reference: str = "eager", flops: Optional[float] = None,
                   peaks: Optional[Dict[str, object]] = None, isa: Optional[Dict[str, str]] = None) -> str:
    """Table with step/forward times, fps, speed-ups against the reference backend's forward and step,
    the guard's eager re-runs and, given ``flops`` (one forward) and ``peaks`` (GEMM peak per
    precision), the step's achieved GFLOP/s and its percentage of the peak of the backend's precision;
    given ``isa`` (backend -> label), the instruction set its engine reported."""
    ref = next((r for r in rows if r.backend == reference), None)
    head = (f"{'backend':<26}{'step ms':>9}{'fwd ms':>9}{'step fps':>10}"
            + (f"{'eager fwd/step':>16}{'eager fwd/fwd':>15}{'eager step/step':>17}" if ref else "")
            + f"{'reruns':>13}"
            + (f"{'step GFLOP/s':>14}{'% of peak':>11}{'prec':>6}" if flops else "")
            + ("  ISA" if isa is not None else ""))
    lines = [head, "-" * len(head)]
    for r in rows:
        line = f"{_label(r):<26}{r.step_ms:9.1f}{r.forward_ms:9.1f}{1e3 / r.step_ms:10.1f}"
        if ref:
            line += (f"{ref.forward_ms / r.step_ms:15.2f}x{ref.forward_ms / r.forward_ms:14.2f}x"
                     f"{ref.step_ms / r.step_ms:16.2f}x")
        line += f"{_reruns(r):>13}"
        if flops:
            pct = percent_of_peak(r.gflops(flops), peaks or {}, r.precision)
            line += f"{r.gflops(flops):14.1f}{(f'{pct:.1f} %' if pct is not None else 'n/a'):>11}{r.precision:>6}"
        if isa is not None:
            line += f"  {isa.get(r.backend) or 'not reported'}"
        lines.append(line)
    return "\n".join(lines)


def markdown_table(rows: List[Timing], flops: float, peaks: Dict[str, object], isa: Optional[Dict[str, str]] = None,
                   reference: str = "eager") -> str:
    """The README table: per backend, engine ISA, full step time, fps = 1000 / step ms, achieved
    GFLOP/s = FLOPs / step time, its percentage of the GEMM peak of the backend's precision, the same
    percentage for the forward alone, the frames the guard recomputed, and the speed-up over eager =
    eager step / step."""
    ref = next((r for r in rows if r.backend == reference), None)
    lines = ["| path | precision | ISA | step | fps | achieved | % of the peak | forward alone | guard re-runs | vs eager |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        g = r.gflops(flops)
        peak = peak_gflops(peaks, r.precision)
        of_peak = (f"{100 * g / peak:.0f} % of the {r.precision} peak ({peak:.0f} GFLOP/s)" if peak
                   else f"n/a ({r.precision} peak not measured)")
        fwd = f"{r.forward_ms:.1f} ms" + (f", {100 * r.forward_gflops(flops) / peak:.0f} %" if peak else "")
        rerun = f"{100 * (r.eager_reruns + r.exact_reruns) / max(1, r.frames):.0f} %"
        if r.exact_reruns:
            rerun += f" ({r.exact_reruns} fp32, {r.eager_reruns} eager)"
        path = f"`{r.backend}`" + (f" → {r.resolved}" if r.resolved != r.backend else "")
        lines.append(f"| {path} | {r.precision} | {(isa or {}).get(r.backend) or 'not reported'} | {r.step_ms:.1f} ms "
                     f"| {1e3 / r.step_ms:.1f} | {g:.0f} GFLOP/s | {of_peak} | {fwd} | {rerun} | "
                     + (f"×{ref.step_ms / r.step_ms:.2f} |" if ref else "— |"))
    return "\n".join(lines)


def peer_markdown_table(peers: Sequence[PeerTiming], reference: Optional[Timing], tracker: str) -> str:
    """The README table of the peers timed beside the backends (:func:`markdown_table`'s companion)."""
    lines = ["OpenCV's trackers timed in the same run, on the same frames:", "",
             f"| tracker | engine | OpenCV threads | step | fps | {tracker} vs it |", "|---|---|---|---|---|---|"]
    for p in peers:
        ratio = (f"×{p.step_ms / reference.step_ms:.2f} (`{reference.backend}`)" if reference is not None else "—")
        lines.append(f"| `{p.name}` | {p.engine} | {p.threads} | {p.step_ms:.1f} ms | {1e3 / p.step_ms:.1f} | {ratio} |")
    return "\n".join(lines)


def timing_record(r: Timing, flops: Optional[float] = None, peaks: Optional[Dict[str, object]] = None,
                  reference: Optional[Timing] = None, isa: Optional[str] = None) -> Dict[str, object]:
    """One backend's timing as a JSON-ready dict: with ``flops`` its GFLOP/s and % of the peak of its
    precision, with ``reference`` (eager) the speed-ups ``reference.step_ms / step_ms`` and
    ``reference.forward_ms / forward_ms``, with ``isa`` the instruction set its engine reported."""
    rec: Dict[str, object] = {"backend": r.backend, "resolved": r.resolved, "precision": r.precision,
                              "step_ms": r.step_ms, "forward_ms": r.forward_ms, "step_fps": 1e3 / r.step_ms,
                              "step_median_ms": r.step_median_ms, "step_mean_ms": r.step_mean_ms, "frames": r.frames,
                              "eager_reruns": r.eager_reruns, "exact_reruns": r.exact_reruns, "reason": r.reason,
                              "max_diff_vs_eager": r.diff_vs_eager, "isa": isa}
    if reference is not None:
        rec["step_speedup_vs_eager"] = reference.step_ms / r.step_ms
        rec["forward_speedup_vs_eager"] = reference.forward_ms / r.forward_ms
    if flops:
        rec["step_gflops"] = r.gflops(flops)
        rec["forward_gflops"] = r.forward_gflops(flops)
        rec["step_percent_of_peak"] = percent_of_peak(r.gflops(flops), peaks or {}, r.precision)
        rec["forward_percent_of_peak"] = percent_of_peak(r.forward_gflops(flops), peaks or {}, r.precision)
    return rec


def disturbed_peaks(records: Sequence[Mapping[str, object]]) -> List[str]:
    """Warnings for timing records (:func:`timing_record`) that ran above 100 % of their precision's
    peak: that peak was measured while something else held the cores, so every % of it is too high."""
    out = []
    for rec in records:
        for what in ("forward", "step"):
            pct = rec.get(f"{what}_percent_of_peak")
            if pct is not None and pct > 100.0:
                out.append(f"{rec['backend']}: its {what} ran at {pct:.0f} % of the {rec['precision']} GEMM peak "
                           f"measured in this run, so that peak was measured while something else used the cores; "
                           f"rerun on an idle machine")
                break
    return out


def auto_check(rows: List[Timing], tol: float = EXACT_TOL) -> Optional[Dict[str, object]]:
    """Is ``auto`` (when timed) the fastest exact fp32 path of this run?

    Candidates: every timed fp32 backend whose maps equal eager within ``tol`` (eager included),
    one per engine (rows that ran ``auto``'s engine are ``auto`` itself). ``auto_is_fastest`` is
    False when another engine's full step (guard re-runs included) is shorter than ``auto``'s; the
    speed-up that engine would give is ``auto.step_ms / its step_ms``.
    """
    auto = next((r for r in rows if r.backend == "auto"), None)
    if auto is None:
        return None
    others = [r for r in rows if r.precision == "fp32" and r.diff_vs_eager <= tol and r.backend != "auto"
              and r.resolved != auto.resolved]
    faster = min(others, key=lambda r: r.step_ms, default=None)
    is_fastest = faster is None or auto.step_ms <= faster.step_ms
    out: Dict[str, object] = {"resolved": auto.resolved, "reason": auto.reason, "max_diff_vs_eager": auto.diff_vs_eager,
                              "equals_eager": auto.diff_vs_eager <= tol, "tolerance": tol,
                              "compared_with": [r.backend for r in others], "auto_is_fastest": is_fastest,
                              "fastest_other": faster.backend if faster else None,
                              "fastest_other_step_ms": faster.step_ms if faster else None}
    if not others:
        out["verdict"] = f"auto ran {auto.resolved}; no other exact fp32 path was timed"
    elif is_fastest:
        out["verdict"] = (f"auto ran {auto.resolved}, the fastest of the timed exact fp32 paths "
                          f"({', '.join(out['compared_with'])}), guard re-runs included")
    else:
        fix = ("the fast fp32 engines gain nothing here: auto should keep eager" if faster.resolved == "eager"
               else f"AUTO_ORDER should try {faster.resolved} first")
        out["verdict"] = (f"auto ran {auto.resolved} ({auto.step_ms:.1f} ms) but {faster.backend} is faster "
                          f"({faster.step_ms:.1f} ms, x{auto.step_ms / faster.step_ms:.2f}); if that holds on an "
                          f"idle machine, on this CPU {fix}")
    return out


def isa_text(info: Dict[str, object]) -> str:
    """One label for what an engine said about its instruction set (``engine_info`` of a backend):
    per library for PyTorch (``MKL not reported, oneDNN AVX-512``), else its ISA or ``not reported``."""
    by_lib = info.get("isa_by_library")
    if by_lib:
        return ", ".join(f"{lib} {v or 'not reported'}" for lib, v in by_lib.items())
    return str(info.get("isa") or "not reported")


# a reduced-precision backend ships only if its AUC on real sequences is this close to eager's (issue 14)
AUC_TOLERANCE_POINTS = 0.5


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
    guard_reruns: int = 0            # teacher-forced frames the guard recomputed (fp32 recheck or eager)
    first_mismatch: Optional[str] = None
    per_sequence: Dict[str, int] = field(default_factory=dict)
    resolved: Optional[str] = None   # what ran (auto -> its choice)
    precision: str = "fp32"
    auc: Optional[float] = None        # got10k success AUC (0..1) of this backend's free-running tracker
    eager_auc: Optional[float] = None  # the same for eager, on the same frames
    eager_noise_aucs: List[float] = field(default_factory=list)  # eager on frames dithered by <= 1 grey level

    @property
    def agrees(self) -> bool:
        """The guard of a fast path: eager's peak cell on every checked frame."""
        return self.frames > 0 and self.peak_mismatches == 0

    @property
    def auc_diff_points(self) -> Optional[float]:
        """AUC difference to eager in points: 100 x (AUC - eager AUC); negative = less accurate."""
        return None if self.auc is None or self.eager_auc is None else 100.0 * (self.auc - self.eager_auc)

    @property
    def eager_noise_points(self) -> Optional[float]:
        """How far eager's AUC moved under one-grey-level dither, in points (max over the runs)."""
        if not self.eager_noise_aucs or self.eager_auc is None:
            return None
        return max(abs(100.0 * (a - self.eager_auc)) for a in self.eager_noise_aucs)

    @property
    def auc_within_tolerance(self) -> Optional[bool]:
        """|AUC - eager AUC| <= :data:`AUC_TOLERANCE_POINTS` points."""
        d = self.auc_diff_points
        return None if d is None else abs(d) <= AUC_TOLERANCE_POINTS + 1e-9

    def as_dict(self) -> Dict[str, object]:
        d = dict(vars(self))
        d.update(agrees=self.agrees, auc_diff_points=self.auc_diff_points,
                 auc_within_tolerance=self.auc_within_tolerance, auc_tolerance_points=AUC_TOLERANCE_POINTS,
                 eager_noise_points=self.eager_noise_points)
        return d


def check_peaks(net, search_factor: float, template_factor: float, backends: Sequence[str], seq_dirs: Sequence[str],
                threads: Optional[int] = None, max_frames: Optional[int] = None, progress: bool = True,
                fp32_recheck: bool = True, loop: Optional[Mapping] = None,
                eager_noise_runs: int = 0) -> List[PeakCheck]:
    """Does each backend pick the same windowed peak cell as eager on every frame?

    Teacher-forced: on each frame every backend sees eager's search crop (so one early difference
    does not make all later frames differ) and decides as its tracker would, guard included (a frame
    the guard recomputes with eager counts in ``guard_reruns``); ``raw_peak_mismatches`` counts the
    engine's own maps without the guard. Also runs each backend free on its own trajectory (its
    tracker as it ships, guard included) and reports the largest box difference to eager's boxes, in
    pixels, and the got10k success AUC of both runs over all sequences (OTB protocol: the first box is
    the ground truth, no frame dropped; per-sequence success curves averaged over sequences, AUC =
    their mean over the 21 IoU thresholds): ``auc``, ``eager_auc`` and ``auc_diff_points``.

    ``eager_noise_runs`` = k > 0 also runs eager's tracker k more times, run i on every frame plus
    seeded noise of -1, 0 or +1 grey level per pixel (:func:`dither`), and stores those AUCs in
    ``eager_noise_aucs`` of every row: the AUC difference that means nothing for this model and loop.
    """
    if eager_noise_runs < 0:
        raise ValueError(f"eager_noise_runs={eager_noise_runs}: must be >= 0")
    others = [b for b in backends if b != "eager"]
    cores = make_cores(net, search_factor, template_factor, ["eager"] + others, threads, fp32_recheck, loop)
    free = make_cores(net, search_factor, template_factor, others, threads, fp32_recheck, loop)
    noisy = [TrackerCore(net, search_factor, template_factor, backend="eager", threads=threads,
                         name=f"bench[eager+noise{i}]", **(loop or {})) for i in range(eager_noise_runs)]
    results = {b: PeakCheck(b) for b in others}
    curves: Dict[str, list] = {b: [] for b in ["eager"] + others}
    noise_curves: List[list] = [[] for _ in noisy]
    for si, seq in enumerate(seq_dirs):
        paths, gt = load_otb_sequence(seq)
        if max_frames:
            paths = paths[:max_frames]
        boxes = {b: [np.asarray(gt[0], np.float64)] for b in curves}
        name = seq.rstrip("/").split("/")[-1]
        first = read_rgb(paths[0])
        for b, core in cores.items():
            core.init(first, gt[0])
        for b in others:
            if free[b].backend is None:  # share the built engine instead of converting twice
                free[b].share_backend(cores[b])
            free[b].init(first, gt[0])
        rngs = [np.random.default_rng([i, si]) for i in range(len(noisy))]
        noise_boxes = [[np.asarray(gt[0], np.float64)] for _ in noisy]
        for core, rng in zip(noisy, rngs):
            if core.backend is None:
                core.share_backend(cores["eager"])
            core.init(dither(first, rng), gt[0])
        ref = cores["eager"]
        for fi, p in enumerate(tqdm(paths[1:], desc=f"check {name}", unit="frame", disable=not progress,
                                    leave=False), start=2):
            frame = read_rgb(p)
            image = ref.working_frame(frame)  # the frame itself unless the loop scales large frames down
            search, rf = ref.search_crop(image)
            ref_maps = ref.forward(search)
            ref_peak = peak_cell(ref.window * ref_maps[0])
            for b in others:
                core = cores[b]
                core.state = list(ref.state)  # the guard's crop-rounding test looks at the current state
                core.frame_scale = ref.frame_scale
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
                    maps, _ = core.recheck(search)
                if peak_cell(ref.window * maps[0]) != ref_peak:
                    res.peak_mismatches += 1
                    res.per_sequence[name] = res.per_sequence.get(name, 0) + 1
                    if res.first_mismatch is None:
                        res.first_mismatch = f"{name} frame {fi}"
            ref_box, _ = ref.update_from_maps(image.shape[:2], ref_maps, rf)
            boxes["eager"].append(ref_box)
            for b in others:
                box, _ = free[b].update(frame)
                boxes[b].append(box)
                results[b].max_box_diff_free = max(results[b].max_box_diff_free, float(np.abs(box - ref_box).max()))
            for core, rng, rows in zip(noisy, rngs, noise_boxes):
                rows.append(core.update(dither(frame, rng))[0])
        for b, rows in boxes.items():
            curves[b].append(got10k_sequence(np.stack(rows), gt[:len(rows)], drop_nan_gt=False))
        for rows, out in zip(noise_boxes, noise_curves):
            out.append(got10k_sequence(np.stack(rows), gt[:len(rows)], drop_nan_gt=False))
    eager_auc = got10k_overall(curves["eager"]).success_score if curves["eager"] else None
    noise_aucs = [got10k_overall(c).success_score for c in noise_curves if c]
    for b in others:
        results[b].eager_noise_aucs = list(noise_aucs)
        if curves[b]:
            results[b].auc, results[b].eager_auc = got10k_overall(curves[b]).success_score, eager_auc
        results[b].eager_reruns = free[b].stats["eager_reruns"]
        if cores[b].backend is not None:
            results[b].resolved, results[b].precision = cores[b].backend_name, cores[b].backend.precision
    return [results[b] for b in others]


def dither(frame: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``frame`` (uint8) plus -1, 0 or +1 grey level per pixel and channel, drawn from ``rng``."""
    noise = rng.integers(-1, 2, size=frame.shape, dtype=np.int16)
    return np.clip(frame.astype(np.int16) + noise, 0, 255).astype(np.uint8)


def format_peak_checks(rows: List[PeakCheck]) -> str:
    lines = [f"{'backend':<14}{'prec':>5}{'frames':>8}{'peak mismatches':>17}{'unguarded':>11}{'guard reruns':>14}"
             f"{'max |score diff|':>18}{'max |map diff|':>16}{'free-run max |box diff| px':>28}{'free reruns':>13}"
             f"{'AUC':>8}{'eager AUC':>11}{'dAUC pt':>9}  verdict"]
    for r in rows:
        auc = (f"{100 * r.auc:8.2f}{100 * r.eager_auc:11.2f}{r.auc_diff_points:+9.2f}" if r.auc_diff_points is not None
               else f"{'n/a':>8}{'n/a':>11}{'n/a':>9}")
        verdict = "same peak as eager" if r.agrees else "DIFFERS from eager" if r.frames else "no frames"
        if r.first_mismatch:
            verdict += f" (first at {r.first_mismatch})"
        if r.auc_within_tolerance is not None:
            verdict += (f"; AUC within {AUC_TOLERANCE_POINTS:g} pt" if r.auc_within_tolerance
                        else f"; AUC OFF by more than {AUC_TOLERANCE_POINTS:g} pt")
        lines.append(f"{r.backend:<14}{r.precision:>5}{r.frames:>8}{r.peak_mismatches:>17}{r.raw_peak_mismatches:>11}"
                     f"{r.guard_reruns:>14}{r.max_score_diff:>18.2e}"
                     f"{r.max_map_diff:>16.2e}{r.max_box_diff_free:>28.5f}{r.eager_reruns:>13}{auc}  {verdict}")
    noisy = next((r for r in rows if r.eager_noise_points is not None), None)
    if noisy is not None:
        aucs = ", ".join(f"{100 * a:.2f}" for a in noisy.eager_noise_aucs)
        lines.append(f"eager itself on frames dithered by <= 1 grey level ({len(noisy.eager_noise_aucs)} runs): "
                     f"AUC {aucs} against {100 * noisy.eager_auc:.2f}: it moves up to "
                     f"{noisy.eager_noise_points:.2f} pt without any change of precision")
    return "\n".join(lines)


def random_net(cfg, seed: int = 0):
    """The network with random (but reproducible) weights, for timing without a checkpoint."""
    from ..models import build_net
    torch.manual_seed(seed)
    return build_net(config=cfg)
