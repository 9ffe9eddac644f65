"""How wide must the reduced-precision guard's tie window be? (``core.TIE_GUARD_FACTOR``)

A bf16 or int8 tracker recomputes with eager the frames whose two best windowed scores are within
``2 * factor * e``, where ``e`` is the score error measured against eager on the warm-up crops. This
script follows eager's trajectory over OTB-layout sequences (teacher-forced: every frame's crop is
eager's) and, per frame, records the reduced-precision gap between the two best cells, whether its
peak cell differs from eager's (a flip), and its error at the top cells. It then prints, for several
factors, the share of frames the guard would recompute and the flips it would miss, and how far the
per-frame error strays from the warm-up estimate ``e``.

    python experiments/diagnostics/tie_window.py --tracker demo-loretrack-128 --root DIR \
        [--inflate-to loretrack-128] [--backend bf16] [--max-frames 30] [--json out.json]

Choose on videos that are not an evaluation set (real-train), then check on the evaluation set with
``loretrack bench --check-peaks``.
"""
from __future__ import annotations

import argparse
import json
import sys

import numpy as np

FACTORS = (0.5, 1, 2, 3, 4)


def frame_records(core, paths, gt, max_frames: int):
    """Per frame after the first: gap / flip / error at the top cells, on eager's trajectory."""
    import torch
    from loretrack_plugin.formats import read_rgb
    core.init(read_rgb(paths[0]), gt[0])
    rows = []
    for p in paths[1:max_frames]:
        image = core.working_frame(read_rgb(p))
        search, rf = core._search_input(image, core.state)
        eager, fast = core._eager(core.template, search), core.backend(core.template, search)
        r_eager, r_fast = (core.window * eager[0]).flatten(), (core.window * fast[0]).flatten()
        top = torch.topk(r_fast, 2)
        diff = (r_fast - r_eager).abs()
        rows.append({"gap": float(top.values[0] - top.values[1]), "flip": int(torch.argmax(r_eager)) != int(top.indices[0]),
                     "err_top": float(diff[int(top.indices[0])]), "err_map": float((fast[0] - eager[0]).abs().max()),
                     "warmup_err": core.backend_score_diff})
        core.update_from_maps(image.shape[:2], eager, rf)
    return rows


def summary(rows) -> dict:
    gap = np.array([r["gap"] / r["warmup_err"] for r in rows])
    flip = np.array([r["flip"] for r in rows])
    top = np.array([r["err_top"] / r["warmup_err"] for r in rows])
    return {"frames": len(rows), "flips": int(flip.sum()),
            "largest_flip_gap_over_err": float(gap[flip].max()) if flip.any() else None,
            "by_factor": {str(f): {"rerun_share": float(np.mean(gap <= 2 * f)), "flips_missed": int(((gap > 2 * f) & flip).sum())}
                          for f in FACTORS},
            "top_cell_err_over_warmup": {"median": float(np.median(top)), "p99": float(np.percentile(top, 99)),
                                         "max": float(top.max())},
            "map_err_over_warmup_max": max(r["err_map"] / r["warmup_err"] for r in rows)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tracker", required=True, help="a trained tracker (name or .yaml); its loop is used")
    p.add_argument("--root", required=True, help="folder of OTB-layout sequences (not an evaluation set)")
    p.add_argument("--inflate-to", default=None, help="run its network inflated into this tracker's architecture")
    p.add_argument("--backend", default="bf16", help="a reduced-precision backend [%(default)s]")
    p.add_argument("--max-frames", type=int, default=30, help="frames per sequence [%(default)s]")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", default=None, help="also write the summary and the per-frame records here")
    args = p.parse_args(argv)
    import torch
    from loretrack_plugin.formats import list_otb_sequences, load_otb_sequence
    from loretrack_plugin.models.inflate import inflate_net
    from loretrack_plugin.tracking.core import TrackerCore
    from loretrack_plugin.trackers import get_spec, load_tracker_net
    from loretrack_plugin.utils.files import write_json
    torch.set_num_threads(args.threads)
    spec = get_spec(args.tracker)
    net = load_tracker_net(spec)
    if args.inflate_to:
        net = inflate_net(net, get_spec(args.inflate_to).network)
    rows, first = [], None
    for seq in list_otb_sequences(args.root):
        paths, gt = load_otb_sequence(seq)
        core = TrackerCore(net, spec.search_factor, spec.template_factor, backend=args.backend,
                           threads=args.threads, measure_only=True, **spec.loop)
        if first is not None:
            core.share_backend(first)  # one engine, one warm-up error estimate
        rows += frame_records(core, paths, gt, args.max_frames)
        if first is None:
            first = core
            if first.backend.exact:
                sys.exit(f"--backend {args.backend}: not a reduced-precision backend")
    out = summary(rows)
    print(json.dumps(out, indent=1))
    if args.json:
        write_json(args.json, {"tracker": spec.name, "inflate_to": args.inflate_to, "backend": args.backend,
                               "summary": out, "frames": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
