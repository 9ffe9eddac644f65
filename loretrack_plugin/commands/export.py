"""``loretrack export``: write a tracker's network as ONNX or OpenVINO IR, checked against eager first.

The exported graph maps (template (1,3,Sz,Sz), search (1,3,Sx,Sx)), both ImageNet-normalised RGB, to
(score_map (1,1,F,F), size_map (1,2,F,F), offset_map (1,2,F,F)); the tracker-level settings (sizes,
crop factors, name) are stored as model metadata. Files are written to a temporary name, loaded back
with their runtime and compared with the PyTorch model; only a file that matches is renamed into place.
"""
from __future__ import annotations

import os
import shutil
import tempfile

from ..cli import UserError

HELP = "export a tracker's network to ONNX or OpenVINO IR (verified against PyTorch before it is kept)"


def add_arguments(p):
    p.add_argument("--tracker", required=True, help="tracker name or tracker .yaml file")
    p.add_argument("--format", required=True, choices=["onnx", "openvino"], help="output format")
    p.add_argument("--checkpoint", default=None, help="weights (default: the tracker's checkpoint)")
    p.add_argument("--out", default=None,
                   help="output file: .onnx, or .xml for OpenVINO (its .bin is written next to it) "
                        "[<tracker>.onnx / <tracker>.xml]")
    p.add_argument("--tol", type=float, default=1e-5, help="largest allowed |difference| to PyTorch [%(default)g]")


def _metadata(spec, cfg) -> dict:
    return {"loretrack_tracker": spec.name, "search_size": str(cfg.search_size),
            "template_size": str(cfg.template_size), "search_factor": repr(spec.search_factor),
            "template_factor": repr(spec.template_factor), "inputs": "template,search (ImageNet-normalised RGB)",
            "outputs": "score_map,size_map,offset_map"}


def _write_onnx(net, meta, path):
    import onnx
    from ..tracking.backends import export_onnx_bytes
    model = onnx.load_from_string(export_onnx_bytes(net))
    for k, v in meta.items():
        model.metadata_props.add(key=k, value=v)
    onnx.save(model, path)


def _write_openvino(net, meta, xml_path):
    import openvino as ov
    from ..tracking.backends import convert_openvino
    model = convert_openvino(net)
    for k, v in meta.items():
        model.set_rt_info(v, ["loretrack", k])
    # the default would store fp16 weights: not the network any more
    ov.save_model(model, xml_path, compress_to_fp16=False)


def verify_export(path: str, net, tol: float = 1e-5) -> float:
    """Max |difference| between the exported file (run by its runtime) and eager PyTorch, on two inputs."""
    from ..tracking.backends import EagerBackend, example_inputs, load_exported, max_abs_diff
    exported = load_exported(path)
    eager = EagerBackend(net)
    worst = 0.0
    for seed in (0, 1):
        z, x = example_inputs(net.cfg, seed=seed)
        worst = max(worst, max_abs_diff(exported(z, x), eager(z, x)))
    return worst


def run(args) -> int:
    from ..trackers import load_tracker_net, get_spec
    spec = get_spec(args.tracker)
    if args.tol <= 0:
        raise UserError("--tol must be positive")
    ext = ".onnx" if args.format == "onnx" else ".xml"
    out = args.out or f"{spec.name}{ext}"
    if not out.endswith(ext):
        raise UserError(f"--out {out}: a {args.format} export must end with {ext}")
    out = os.path.abspath(out)
    net = load_tracker_net(spec, args.checkpoint)
    meta = _metadata(spec, net.cfg)
    out_dir = os.path.dirname(out)
    os.makedirs(out_dir, exist_ok=True)
    tmp_dir = tempfile.mkdtemp(prefix=".export-", dir=out_dir)
    try:
        tmp = os.path.join(tmp_dir, "model" + ext)
        print(f"exporting {spec.name} ({net.cfg.search_size}/{net.cfg.template_size} px) to {args.format} ...")
        (_write_onnx if args.format == "onnx" else _write_openvino)(net, meta, tmp)
        diff = verify_export(tmp, net, args.tol)
        if not diff <= args.tol:
            raise UserError(f"exported {args.format} model differs from PyTorch by {diff:.2e} > --tol {args.tol:g}; "
                            "nothing written")
        if args.format == "openvino":
            # .bin first: an .xml next to a stale or missing .bin must never appear
            os.replace(os.path.join(tmp_dir, "model.bin"), out[:-4] + ".bin")
        os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
    extra = f" (+ {os.path.basename(out[:-4])}.bin)" if args.format == "openvino" else ""
    print(f"wrote {out}{extra}: outputs match PyTorch within {diff:.1e} (<= {args.tol:g})")
    return 0
