"""``loretrack bench``: per-backend speed of a named tracker, timed in one run, one backend at a time,
beside OpenCV's trackers (``--peers``, ``opencv-nano`` by default) timed in the same rotation.

Next to the times it measures, in the same run, this machine's GEMM peak for every precision it times
(fp32 / bf16 / int8, best engine of several) and states each backend's full step as achieved GFLOP/s
and as a percentage of the peak of its precision; it names the instruction sets each engine reports,
says whether ``auto`` ran the fastest exact fp32 path of the run, and prints the README table
(markdown). ``--check-peaks ROOT`` runs every backend over real sequences: same peak cell as eager on
every frame, and the got10k success AUC of its tracker against eager's. ``--json`` writes everything
(atomically) for regenerating the README table (docs/cpu-performance.md).
"""
from __future__ import annotations

import argparse
import datetime
import logging
import os
import sys
from typing import Dict, List, Optional, Tuple

from ..cli import UserError

HELP = "time the full tracker step and the forward alone for each inference backend (one run, one backend at a time)"


def add_arguments(p):
    p.add_argument("--tracker", default="loretrack-128", help="tracker name or tracker .yaml file [%(default)s]")
    p.add_argument("--checkpoint", default=None,
                   help="weights (default: the tracker's; random weights when that file does not exist)")
    p.add_argument("--inflate-from", metavar="SOURCE", default=None,
                   help="weights: a trained smaller network (tracker name, tracker .yaml or checkpoint) inflated "
                        "into the tracker's architecture; it computes the source's maps at the tracker's cost "
                        "(loretrack_plugin/models/inflate.py)")
    p.add_argument("--backends", default="eager,openvino,onnxruntime,bf16",
                   help="comma-separated backends to compare (eager is the reference) [%(default)s]")
    p.add_argument("--peers", default="opencv-nano",
                   help="comma-separated OpenCV trackers (opencv-nano, opencv-mil, opencv-csrt, opencv-kcf) or "
                        "untrained stem references (stem-xcorr-nanotrack-v3, stem-xcorr-nanotrack-v3-half, "
                        "stem-xcorr-nanotrack-v3-half-zoom2, stem-xcorr-mobilenetv2) timed in the same run on the same frames, each as its own block "
                        "of the rotation, for an honest "
                        "speed ratio; '' or 'none' for none [%(default)s]")
    p.add_argument("--frames", type=int, default=30, help="timed frames per repetition [%(default)s]")
    p.add_argument("--repeats", type=int, default=3, help="repetitions over the frames [%(default)s]")
    p.add_argument("--threads", type=int, default=None,
                   help="inference threads, for the backends and OpenCV alike (default: the engines' choice)")
    p.add_argument("--sequence", default=None,
                   help="OTB-layout sequence folder whose frames are used (default: synthetic 640x360 frames)")
    p.add_argument("--check-peaks", metavar="ROOT", default=None,
                   help="also check, on every frame of the OTB-layout sequences under ROOT, that each backend "
                        "picks the same peak cell as eager, and compare its tracker's success AUC with eager's")
    p.add_argument("--max-frames", type=int, default=None, help="with --check-peaks: frames per sequence")
    p.add_argument("--eager-noise", type=int, default=0, metavar="K",
                   help="with --check-peaks: also run eager K times on frames dithered by at most one grey level "
                        "(seeded), to show how far its AUC moves without any change of precision [%(default)s]")
    p.add_argument("--json", default=None, help="also write the results to this JSON file")
    p.add_argument("--no-timing", action="store_true", help="skip the timing (with --check-peaks)")
    p.add_argument("--peak-size", type=int, default=2048,
                   help="side of the square GEMM that measures the machine's peak per precision [%(default)s]")
    p.add_argument("--peak-repeats", type=int, default=5, help="GEMM peak: best of this many calls [%(default)s]")
    p.add_argument("--no-peak", action="store_true", help="skip the GEMM peak measurement (no %% of peak)")
    p.add_argument("--fp32-recheck", action=argparse.BooleanOptionalAction, default=True,
                   help="bf16/int8: recheck near-tie frames with the fast exact fp32 engine before eager "
                        "(the trackers' default; --no-fp32-recheck: with eager only)")


def weights_source(spec, checkpoint: Optional[str]) -> Tuple[Optional[str], str]:
    """(checkpoint to load, or None for random weights; how the output names the weights).

    ``--checkpoint`` always loads; otherwise the tracker's default checkpoint loads when it exists,
    and a tracker file with a ``network`` section (``loretrack-128``, ``loretrack-256``...) is timed
    with random weights when it does not (speed does not depend on the weights; agreement does).
    """
    if checkpoint is not None:
        return checkpoint, f"weights from {checkpoint}"
    ckpt = spec.checkpoint
    if ckpt and os.path.isfile(ckpt):
        return ckpt, f"weights from {ckpt}"
    if spec.network is None:
        raise UserError(f"--tracker {spec.name}: its network is read from its checkpoint, which is missing "
                        f"({ckpt}); pass --checkpoint")
    return None, f"RANDOM weights (no checkpoint at {ckpt})"


def _inflated(spec, source: str):
    """(spec, the tracker's network with weights inflated from ``source``, how the output names them).

    A tracker ``source`` also lends its crop factors and loop options: its maps are a trained tracker's
    only under the crops it was trained for. A checkpoint ``source`` keeps the tracker's.
    """
    from ..checkpoint import CheckpointError, build_net_from_checkpoint
    from ..config import ConfigError
    from ..models.inflate import inflate_net
    from ..trackers import get_spec, load_tracker_net
    if spec.network is None:
        raise UserError(f"--inflate-from: --tracker {spec.name} has no network section to inflate into")
    lent = ""
    try:
        if os.path.isfile(source) and not source.endswith((".yaml", ".yml")):
            src = build_net_from_checkpoint(source)
        else:
            src_spec = get_spec(source)
            src = load_tracker_net(src_spec)
            spec = spec.replace(search_factor=src_spec.search_factor, template_factor=src_spec.template_factor,
                                **src_spec.loop)
            loop = "".join(f", {k} {v}" for k, v in spec.loop.items() if v is not None)
            lent = f"; its search/template factors {spec.search_factor:g}/{spec.template_factor:g}{loop}"
        net = inflate_net(src, spec.network)
    except (ValueError, FileNotFoundError, CheckpointError, ConfigError) as e:
        raise UserError(f"--inflate-from {source}: {e}") from None
    c = src.cfg
    return spec, net, (f"weights INFLATED from {source} (ViT {c.embed_dim}/{c.depth}, "
                       f"{c.search_size}/{c.template_size} px{lent})")


def _load(args):
    from ..tracking.backend_comparison import random_net
    from ..trackers import get_spec, is_peer, load_tracker_net
    try:
        spec = get_spec(args.tracker)
    except (ValueError, FileNotFoundError) as e:
        raise UserError(f"--tracker: {e}") from None
    if is_peer(spec):
        raise UserError(f"--tracker {spec.name}: an OpenCV tracker has no backends to compare; time it beside a "
                        f"LoReTrack tracker with --peers {spec.name}")
    if args.inflate_from is not None:
        if args.checkpoint is not None:
            raise UserError("--inflate-from and --checkpoint both name the weights; give one")
        spec, net, weights = _inflated(spec, args.inflate_from)
        return spec, net, weights, False
    ckpt, weights = weights_source(spec, args.checkpoint)
    net = load_tracker_net(spec, ckpt) if ckpt is not None else random_net(spec.network)
    return spec, net, weights, ckpt is None


def _backends(text: str) -> List[str]:
    """The ``--backends`` list, checked, with eager (the reference) first when it was left out."""
    from ..tracking.backends import check_backend_name
    try:
        backends = list(dict.fromkeys(check_backend_name(b.strip()) for b in text.split(",") if b.strip()))
    except ValueError as e:
        raise UserError(f"--backends: {e}") from None
    if not backends:
        raise UserError("--backends: give at least one backend")
    if "eager" not in backends:
        backends.insert(0, "eager")
    return backends


def _peers(text: str, threads: Optional[int]) -> Dict[str, object]:
    """The ``--peers`` trackers, built (OpenCV has each, its model files load), by name."""
    from ..trackers import is_peer, make_tracker
    names = [] if text.strip().lower() == "none" else list(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    out = {}
    for name in names:
        if not is_peer(name):
            from ..trackers import RESERVED
            raise UserError(f"--peers: {name!r} is not a peer or reference tracker ({', '.join(sorted(RESERVED))})")
        try:
            out[name] = make_tracker(name, threads=threads)
        except (ValueError, FileNotFoundError) as e:
            raise UserError(f"--peers: {e}") from None
    return out


def _check_args(args) -> None:
    for name, value, low in (("--frames", args.frames, 1), ("--repeats", args.repeats, 1),
                             ("--threads", args.threads, 1), ("--max-frames", args.max_frames, 2),
                             ("--peak-size", args.peak_size, 16), ("--peak-repeats", args.peak_repeats, 1),
                             ("--eager-noise", args.eager_noise, 0)):
        if value is not None and value < low:
            raise UserError(f"{name} must be >= {low}, got {value}")
    if args.no_timing and not args.check_peaks:
        raise UserError("--no-timing: nothing left to do without --check-peaks")
    if args.eager_noise and not args.check_peaks:
        raise UserError("--eager-noise: needs --check-peaks (it runs on those sequences)")


def _sequences(arg: str, root: str) -> List[str]:
    from ..formats import list_otb_sequences
    try:
        return list_otb_sequences(root)
    except FileNotFoundError as e:
        raise UserError(f"{arg}: {e}") from None


def run(args) -> int:
    import torch

    from ..formats import load_otb_sequence, read_rgb
    from ..tracking import hardware
    from ..tracking.backend_comparison import (auto_check, check_peaks, disturbed_peaks, format_peak_checks,
                                               format_peer_timings, format_timings, forward_flops, isa_text,
                                               markdown_table, peer_markdown_table, peer_reference,
                                               synthetic_frames, time_backends, timing_record)
    from ..tracking.backends import BackendError
    from ..utils.files import write_json

    _check_args(args)
    backends = _backends(args.backends)
    if args.check_peaks and len(backends) < 2:
        raise UserError("--check-peaks: give at least one backend besides eager in --backends")
    seqs = _sequences("--check-peaks", args.check_peaks) if args.check_peaks else []
    if args.sequence and not args.no_timing:
        try:
            paths, gt = load_otb_sequence(args.sequence)
        except (FileNotFoundError, ValueError) as e:
            raise UserError(f"--sequence: {e}") from None
        if len(paths) < 2:
            raise UserError(f"--sequence: {args.sequence} has {len(paths)} frame(s); timing needs at least 2")
    if args.threads:
        torch.set_num_threads(args.threads)
    logging.getLogger("loretrack").setLevel(logging.WARNING)  # keep backend build chatter out of the table

    spec, net, weights, random_weights = _load(args)
    peers = _peers(args.peers, args.threads) if not args.no_timing else {}
    cfg = net.cfg
    print(f"tracker {spec.name}: search {cfg.search_size} px x{spec.search_factor:g}, template {cfg.template_size} "
          f"px x{spec.template_factor:g}, ViT {cfg.embed_dim}/{cfg.depth}; {weights}")
    if random_weights:
        print("NOTE: random weights. The forward times hold for trained weights too. The step does not quite: "
              "random weights give flat score maps, so the guard recomputes far more frames than with a "
              "trained network. Nor does the peak-cell and AUC agreement below (check those with trained "
              "weights: the tracker's checkpoint or --checkpoint).")
    if args.inflate_from is not None:
        print("NOTE: inflated weights compute the source network's maps (a trained tracker's) at this "
              "architecture's cost: the step and the guard re-runs are a trained network's; the accuracy is "
              "the source's, not this architecture's.")
    cpu = hardware.read_cpuinfo()
    summary = hardware.cpu_summary(cpu)
    import cv2
    print(f"threads: {args.threads or 'engine default'} (torch {torch.get_num_threads()}, OpenCV "
          f"{cv2.getNumThreads()}), {os.cpu_count()} CPUs visible; {summary}")
    result = {"tracker": spec.name, "weights": weights, "random_weights": random_weights, "threads": args.threads,
              "backends": backends, "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "cpu": dict(cpu.as_dict(), summary=summary, cpus_visible=os.cpu_count()),
              "software": _versions(torch), "torch_threads": torch.get_num_threads(),
              "opencv_threads": cv2.getNumThreads(),
              "network": {"search_size": cfg.search_size, "template_size": cfg.template_size,
                          "embed_dim": cfg.embed_dim, "depth": cfg.depth, "num_heads": cfg.num_heads}}

    if not args.no_timing:
        if args.sequence:
            paths = paths[:args.frames + 1]
            frames, box = [read_rgb(p) for p in paths], list(gt[0])
            source = f"{len(frames) - 1} frames of {args.sequence}"
        else:
            frames, box = synthetic_frames(args.frames + 1)
            source = f"{args.frames} synthetic 640x360 frames"
        cores, timed_peers = {}, {}
        try:
            rows = time_backends(net, spec.search_factor, spec.template_factor, backends, frames, box,
                                 repeats=args.repeats, threads=args.threads, cores_out=cores,
                                 fp32_recheck=args.fp32_recheck, loop=spec.loop, peers=peers, peers_out=timed_peers)
        except BackendError as e:
            raise UserError(f"--backends: {e}; leave that backend out on this machine") from None
        flops = forward_flops(net)
        result["flops"] = flops
        peaks = {}
        if not args.no_peak:
            order = {p: i for i, p in enumerate(hardware.PRECISIONS)}
            precisions = sorted({r.precision for r in rows}, key=order.get)
            peaks = hardware.measure_gemm_peaks(precisions, threads=args.threads, size=args.peak_size,
                                                repeats=args.peak_repeats, cpu=cpu)
            result["gemm_peaks"] = {p: v.as_dict() for p, v in peaks.items()}
        engines = {r.backend: _engine_info(cores[r.backend], frames) for r in rows}
        isa = {b: isa_text(info) for b, info in engines.items()}
        eager = next(r for r in rows if r.backend == "eager")
        print(f"\n{source}, {args.repeats} repetitions, one backend at a time (order rotated per repetition); "
              f"step = full tracker step (median; guard re-runs with eager weighted in), fwd = forward alone (median)")
        print(format_timings(rows, flops=flops["flops"], peaks=peaks, isa=isa))
        print(f"GFLOP/s = {flops['flops'] / 1e9:.2f} GFLOP per forward ({flops['counted_as']}) / step time; "
              f"% of peak = GFLOP/s / the GEMM peak of the backend's precision (prec)")
        auto = auto_check(rows)
        if auto:
            print(f"auto: {auto['verdict']}; {auto['reason']}")
            result["auto_check"] = auto
        if peaks:
            print(f"\nthis machine's GEMM peaks, measured in this run ({args.threads or 'default'} threads):")
            print(hardware.format_peaks(peaks))
        result["timing"] = [timing_record(r, flops["flops"], peaks, reference=eager, isa=isa[r.backend]) for r in rows]
        result["warnings"] = disturbed_peaks(result["timing"])
        for w in result["warnings"]:
            print(f"warning: {w}", file=sys.stderr)
        if timed_peers:
            ref = peer_reference(rows)
            print(f"\nOpenCV's trackers, timed in the same rotation on the same frames (step = update, median; "
                  f"the ratio is peer step / {spec.name} step: above 1, {spec.name} is that many times faster):")
            print(format_peer_timings(list(timed_peers.values()), ref, spec.name))
            result["peers"] = [p.record(rows, ref) for p in timed_peers.values()]
            result["peers_note"] = (f"OpenCV peers timed in the same run as {spec.name}'s backends, one block per "
                                    "repetition in the same rotation; speed_ratio = peer step / reference step")
        result["engines"] = engines
        print("\nengines and the instruction sets they report:")
        for r in rows:
            info = engines[r.backend]
            print(f"  {r.backend:<16}{info.get('engine', '?')}: ISA {isa[r.backend]}" + _detail(info))
        table = (f"{spec.name} (ViT {cfg.embed_dim}/{cfg.depth}, {cfg.search_size}/{cfg.template_size} px, "
                 f"{flops['flops'] / 1e9:.3g} GFLOP per forward, {'random' if random_weights else 'trained'} weights), "
                 f"{args.threads or 'default'} threads, {cpu.model_name} ({' '.join(cpu.isa) or 'no AVX2'}), "
                 f"torch {result['software']['torch']}, OpenVINO {result['software']['openvino']}, "
                 f"ONNX Runtime {result['software']['onnxruntime']}; full tracker steps on {source}:\n\n"
                 + markdown_table(rows, flops["flops"], peaks, isa))
        result["readme_table"] = table
        print("\nREADME table (markdown):\n\n" + table)
        if timed_peers:
            result["readme_peers_table"] = peer_markdown_table(list(timed_peers.values()), peer_reference(rows),
                                                               spec.name)
            print("\n" + result["readme_peers_table"])

    if seqs:
        try:
            checks = check_peaks(net, spec.search_factor, spec.template_factor, backends, seqs,
                                 threads=args.threads, max_frames=args.max_frames, fp32_recheck=args.fp32_recheck,
                                 loop=spec.loop, eager_noise_runs=args.eager_noise)
        except BackendError as e:
            raise UserError(f"--backends: {e}; leave that backend out on this machine") from None
        print(f"\npeak-cell agreement with eager on {len(seqs)} sequences (teacher-forced on eager's crops; "
              f"free-run = each backend's own tracker on its own trajectory; AUC = got10k success AUC x100 of the "
              f"free runs, dAUC = backend - eager in points)" + (" -- RANDOM weights: not an accuracy check"
                                                                 if random_weights else "") + ":")
        print(format_peak_checks(checks))
        result["peak_check"] = [c.as_dict() for c in checks]
    if args.json:
        write_json(args.json, result)
        print(f"\nwrote {args.json}")
    return 0


def _engine_info(core, frames) -> Dict[str, object]:
    """What a backend's engine reports about its kernels and ISA; reporting never fails the bench."""
    try:
        return core.backend.engine_info(core.template, searches_for_info(core, frames))
    except Exception as e:
        return {"engine": type(core.backend).__name__, "isa": None, "error": f"{type(e).__name__}: {e}"}


def searches_for_info(core, frames):
    """A search crop for the one traced call of ``engine_info`` (the tracker's current state)."""
    return core.search_crop(frames[-1])[0]


def _detail(info) -> str:
    """A short parenthesis with the executed precisions / kernels an engine reported."""
    bits = []
    if info.get("precisions"):
        bits.append("precisions " + ", ".join(f"{k} x{v}" for k, v in info["precisions"].items()))
    if info.get("kernels"):
        bits.append("kernels " + ", ".join(f"{k} x{v}" for k, v in info["kernels"].items()))
    for lib in ("mkl", "onednn"):
        if isinstance(info.get(lib), dict):
            d = info[lib]
            calls = d.get("calls") or d.get("kernels") or {}
            bits.append(f"{lib}: " + ", ".join(f"{k} x{v}" for k, v in calls.items()))
    if info.get("quantized_ops"):
        bits.append("ops " + ", ".join(f"{k} x{v}" for k, v in info["quantized_ops"].items()))
    if info.get("aten_capability"):
        bits.append(f"ATen {info['aten_capability']}")
    if info.get("note"):
        bits.append(info["note"])
    return f"  ({'; '.join(bits)})" if bits else ""


def _versions(torch) -> dict:
    out = {"torch": torch.__version__, "torch_capability": str(torch.backends.cpu.get_cpu_capability())}
    from importlib import metadata
    for dist in ("openvino", "onnxruntime", "nncf"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out
