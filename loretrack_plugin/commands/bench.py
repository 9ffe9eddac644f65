"""``loretrack bench``: per-backend speed of a named tracker, timed in one run with interleaved calls."""
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

    from ..tracking.backends import check_backend_name
    from ..tracking.backend_comparison import (check_peaks, cpu_summary, format_peak_checks, format_timings,
                                      synthetic_frames, time_backends)
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
    if args.threads:
        torch.set_num_threads(args.threads)
    logging.getLogger("loretrack").setLevel(logging.WARNING)  # keep backend build chatter out of the table

    spec, net, weights = _load(args)
    cfg = net.cfg
    print(f"tracker {spec.name}: search {cfg.search_size} px x{spec.search_factor:g}, template {cfg.template_size} "
          f"px x{spec.template_factor:g}, ViT {cfg.embed_dim}/{cfg.depth}; {weights}")
    print(f"threads: {args.threads or 'engine default'} (torch {torch.get_num_threads()}), "
          f"{os.cpu_count()} CPUs visible; {cpu_summary()}")
    result = {"tracker": spec.name, "weights": weights, "threads": args.threads, "backends": backends}

    if not args.no_timing:
        if args.sequence:
            paths, gt = load_otb_sequence(args.sequence)
            paths = paths[:args.frames + 1]
            frames, box = [read_rgb(p) for p in paths], list(gt[0])
            source = f"{len(frames) - 1} frames of {args.sequence}"
        else:
            frames, box = synthetic_frames(args.frames + 1)
            source = f"{args.frames} synthetic 640x360 frames"
        rows = time_backends(net, spec.search_factor, spec.template_factor, backends, frames, box,
                             repeats=args.repeats, threads=args.threads)
        print(f"\nmedians over {args.repeats} x {source}, backends interleaved per frame:")
        print(format_timings(rows))
        result["timing"] = [{"backend": r.backend, "resolved": r.resolved, "step_ms": r.step_ms,
                             "forward_ms": r.forward_ms} for r in rows]

    if args.check_peaks:
        seqs = list_otb_sequences(args.check_peaks)
        if len(backends) < 2:
            raise UserError("--check-peaks: give at least one backend besides eager")
        checks = check_peaks(net, spec.search_factor, spec.template_factor, backends, seqs,
                             threads=args.threads, max_frames=args.max_frames)
        print(f"\npeak-cell agreement with eager on {len(seqs)} sequences "
              f"(teacher-forced on eager's crops; free-run = each backend on its own trajectory):")
        print(format_peak_checks(checks))
        result["peak_check"] = [dict(vars(c)) for c in checks]
    if args.json:
        write_json(args.json, result)
    return 0
