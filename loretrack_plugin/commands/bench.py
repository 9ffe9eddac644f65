"""``loretrack bench``: per-backend speed of a named tracker, timed in one run with interleaved calls.

Next to the times it measures, in the same run, this machine's GEMM peak for every precision it times
(fp32 / bf16 / int8, best engine of several) and states each backend's full step as achieved GFLOP/s
and as a percentage of the peak of its precision; it names the instruction sets each engine reports.
``--json`` writes everything (atomically) for regenerating the README table (docs/cpu-performance.md).
"""
from __future__ import annotations

import logging
import os

from ..cli import UserError

HELP = "time the full tracker step and the forward alone for each inference backend (one run, interleaved)"


def add_arguments(p):
    p.add_argument("--tracker", default="loretrack-128", help="tracker name or tracker .yaml file [%(default)s]")
    p.add_argument("--checkpoint", default=None,
                   help="weights (default: the tracker's; random weights when that file does not exist)")
    p.add_argument("--backends", default="eager,openvino,onnxruntime,bf16",
                   help="comma-separated backends to compare (eager is the reference) [%(default)s]")
    p.add_argument("--frames", type=int, default=30, help="timed frames per repetition [%(default)s]")
    p.add_argument("--repeats", type=int, default=3, help="repetitions over the frames [%(default)s]")
    p.add_argument("--threads", type=int, default=None, help="inference threads (default: the engines' choice)")
    p.add_argument("--sequence", default=None,
                   help="OTB-layout sequence folder whose frames are used (default: synthetic 640x360 frames)")
    p.add_argument("--check-peaks", metavar="ROOT", default=None,
                   help="also check, on every frame of the OTB-layout sequences under ROOT, that each backend "
                        "picks the same peak cell as eager")
    p.add_argument("--max-frames", type=int, default=None, help="with --check-peaks: frames per sequence")
    p.add_argument("--json", default=None, help="also write the results to this JSON file")
    p.add_argument("--no-timing", action="store_true", help="skip the timing (with --check-peaks)")
    p.add_argument("--peak-size", type=int, default=2048,
                   help="side of the square GEMM that measures the machine's peak per precision [%(default)s]")
    p.add_argument("--peak-repeats", type=int, default=5, help="GEMM peak: best of this many calls [%(default)s]")
    p.add_argument("--no-peak", action="store_true", help="skip the GEMM peak measurement (no %% of peak)")


def _load(args):
    from ..tracking.backend_comparison import random_net
    from ..trackers import load_tracker_net, get_spec
    spec = get_spec(args.tracker)
    ckpt = args.checkpoint if args.checkpoint is not None else spec.checkpoint
    if args.checkpoint is not None or (ckpt and os.path.isfile(ckpt)):
        return spec, load_tracker_net(spec, ckpt), f"weights from {ckpt}"
    if spec.network is None:
        raise UserError(f"tracker {spec.name!r} reads its network from its checkpoint, which is missing: "
                        f"{ckpt}; pass --checkpoint")
    return spec, random_net(spec.network), f"RANDOM weights (no checkpoint at {ckpt})"


def run(args) -> int:
    import torch

    from ..tracking import hardware
    from ..tracking.backends import BackendError, check_backend_name
    from ..tracking.backend_comparison import (check_peaks, cpu_summary, format_peak_checks, format_timings,
                                               forward_flops, synthetic_frames, time_backends, timing_record)
    from ..formats import list_otb_sequences, load_otb_sequence, read_rgb
    from ..utils.files import write_json

    try:
        backends = [check_backend_name(b.strip()) for b in args.backends.split(",") if b.strip()]
    except ValueError as e:
        raise UserError(f"--backends: {e}") from None
    if not backends:
        raise UserError("--backends: give at least one backend")
    if "eager" not in backends:
        backends.insert(0, "eager")
    if args.frames < 1 or args.repeats < 1:
        raise UserError("--frames and --repeats must be >= 1")
    if args.threads is not None and args.threads < 1:
        raise UserError("--threads must be >= 1")
    if args.peak_size < 16 or args.peak_repeats < 1:
        raise UserError("--peak-size must be >= 16 and --peak-repeats >= 1")
    if args.threads:
        torch.set_num_threads(args.threads)
    logging.getLogger("loretrack").setLevel(logging.WARNING)  # keep backend build chatter out of the table

    spec, net, weights = _load(args)
    cfg = net.cfg
    print(f"tracker {spec.name}: search {cfg.search_size} px x{spec.search_factor:g}, template {cfg.template_size} "
          f"px x{spec.template_factor:g}, ViT {cfg.embed_dim}/{cfg.depth}; {weights}")
    cpu = hardware.read_cpuinfo()
    print(f"threads: {args.threads or 'engine default'} (torch {torch.get_num_threads()}), "
          f"{os.cpu_count()} CPUs visible; {cpu_summary()}")
    result = {"tracker": spec.name, "weights": weights, "threads": args.threads, "backends": backends,
              "cpu": dict(cpu.as_dict(), summary=cpu_summary(), cpus_visible=os.cpu_count()),
              "software": _versions(torch), "torch_threads": torch.get_num_threads(),
              "network": {"search_size": cfg.search_size, "template_size": cfg.template_size,
                          "embed_dim": cfg.embed_dim, "depth": cfg.depth}}

    if not args.no_timing:
        if args.sequence:
            paths, gt = load_otb_sequence(args.sequence)
            paths = paths[:args.frames + 1]
            frames, box = [read_rgb(p) for p in paths], list(gt[0])
            source = f"{len(frames) - 1} frames of {args.sequence}"
        else:
            frames, box = synthetic_frames(args.frames + 1)
            source = f"{args.frames} synthetic 640x360 frames"
        cores = {}
        try:
            rows = time_backends(net, spec.search_factor, spec.template_factor, backends, frames, box,
                                 repeats=args.repeats, threads=args.threads, cores_out=cores)
        except BackendError as e:
            raise UserError(f"{e}; leave that backend out of --backends on this machine") from None
        flops = forward_flops(net)
        result["flops"] = flops
        peaks = {}
        if not args.no_peak:
            order = {p: i for i, p in enumerate(hardware.PRECISIONS)}
            precisions = sorted({r.precision for r in rows}, key=order.get)
            peaks = hardware.measure_gemm_peaks(precisions, threads=args.threads, size=args.peak_size,
                                                repeats=args.peak_repeats, cpu=cpu)
            result["gemm_peaks"] = {p: v.as_dict() for p, v in peaks.items()}
        print(f"\n{source}, {args.repeats} repetitions, backends interleaved per frame; step = full tracker "
              f"step (median; guard re-runs with eager weighted in), fwd = forward alone (median)")
        print(format_timings(rows, flops=flops["flops"], peaks=peaks))
        print(f"GFLOP/s = {flops['flops'] / 1e9:.2f} GFLOP per forward ({flops['counted_as']}) / step time")
        if peaks:
            print(f"\nthis machine's GEMM peaks, measured in this run ({args.threads or 'default'} threads):")
            print(hardware.format_peaks(peaks))
        result["timing"] = [timing_record(r, flops["flops"], peaks) for r in rows]
        result["engines"] = {}
        print("\nengines and the instruction sets they report:")
        for r in rows:
            core = cores[r.backend]
            try:
                info = core.backend.engine_info(core.template, searches_for_info(core, frames))
            except Exception as e:  # reporting must never fail the bench
                info = {"engine": type(core.backend).__name__, "isa": None, "error": f"{type(e).__name__}: {e}"}
            result["engines"][r.backend] = info
            if info.get("isa_by_library"):  # PyTorch: one GEMM library may report its ISA, another not
                isa = ", ".join(f"{lib} {v or 'not reported'}" for lib, v in info["isa_by_library"].items())
            else:
                isa = info.get("isa") or "not reported"
            print(f"  {r.backend:<16}{info.get('engine', '?')}: ISA {isa}" + _detail(info))

    if args.check_peaks:
        seqs = list_otb_sequences(args.check_peaks)
        if len(backends) < 2:
            raise UserError("--check-peaks: give at least one backend besides eager")
        try:
            checks = check_peaks(net, spec.search_factor, spec.template_factor, backends, seqs,
                                 threads=args.threads, max_frames=args.max_frames)
        except BackendError as e:
            raise UserError(f"{e}; leave that backend out of --backends on this machine") from None
        print(f"\npeak-cell agreement with eager on {len(seqs)} sequences "
              f"(teacher-forced on eager's crops; free-run = each backend on its own trajectory):")
        print(format_peak_checks(checks))
        result["peak_check"] = [c.as_dict() for c in checks]
    if args.json:
        write_json(args.json, result)
    return 0


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
