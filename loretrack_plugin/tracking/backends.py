"""Inference backends: the same network forward (template, search) -> maps, run by different engines.

Every backend is a callable ``backend(template, search) -> (score_map, size_map, offset_map)`` taking
(1, 3, Sz, Sz) and (1, 3, Sx, Sx) float32 tensors and returning float32 torch tensors (1, 1, F, F),
(1, 2, F, F), (1, 2, F, F).

* ``eager``        the reference: the PyTorch module in fp32 (MKL GEMMs on this CPU class).
* ``openvino``     OpenVINO CPU plugin, inference precision forced to f32 (its default is bf16 on
                   CPUs with AVX512-BF16/AMX, which would silently change the outputs).
* ``onnxruntime``  ONNX Runtime CPU on a TorchScript-exported ONNX graph (opset 17).
* ``onednn``       the PyTorch module with every Linear layer run by oneDNN (``mkldnn_linear``).
* ``bf16``         OpenVINO with bf16 inference precision (needs AVX512-BF16 or AMX). Not exact.
* ``bf16-autocast`` PyTorch under ``torch.autocast("cpu", bfloat16)``: fp32 weights, Linear layers
                   run by oneDNN's bf16 kernels (needs AVX512-BF16 or AMX). Not exact.
* ``bf16-weights`` PyTorch with weights and activations stored in bf16 (oneDNN bf16 GEMMs, no
                   per-call weight conversion; needs AVX512-BF16 or AMX). Not exact.
* ``int8``         the default int8 path, :data:`INT8_DEFAULT` (one of the three below). Not exact.
                   Measured by ``loretrack bench`` only; trackers refuse every int8 backend
                   (:func:`check_tracker_backend`): it keeps eager's peak cell (guarded), but its AUC
                   on real video left the 0.5-point bar around eager's for the shipped student in one
                   of three measured loops (+1.07, ``max_size_change`` 1.02 at search factor 4.0) and
                   for the shipped teacher (-0.93; experiments/bench_results/README.md).
* ``int8-ort``     ONNX Runtime with dynamic quantisation (``onnxruntime.quantization.quantize_dynamic``:
                   per-channel int8 weights, activations quantised per call from their own range,
                   u8 x s8 integer GEMMs in MLAS, VNNI where the CPU has it). No calibration data.
                   On a CPU without VNNI or AMX-INT8 the weights keep 7 bits (``reduce_range``), which
                   the AVX2 kernels need to avoid saturating (:func:`.hardware.u8s8_pairs_saturate`).
* ``int8-ov``      OpenVINO after NNCF post-training static quantisation (int8 weights and
                   activations, ranges calibrated on synthetic tracking crops; u8/i8 x i8 brgemm
                   kernels: VNNI or AMX-INT8). Fastest int8 path, but the largest score error.
* ``int8-torch``   PyTorch ``torch.ao`` dynamic quantisation of the Linear layers (qint8 weights,
                   activations quantised per call; ``torch.backends.quantized.engine`` kernels).
* ``auto``         the fastest fp32 backend whose maps equal ``eager`` within 1e-5 on the warm-up
                   input (see :data:`AUTO_ORDER` and :func:`loretrack_plugin.tracking.core.TrackerCore`).

Every backend has a ``precision`` (``fp32``, ``bf16`` or ``int8``: the GEMM peak its speed is
compared with in ``loretrack bench``) and ``engine_info(template, search)``, which says what the
engine reports about the kernels and instruction sets it ran (see
:mod:`loretrack_plugin.tracking.hardware`).

Measured with ``loretrack bench --tracker loretrack-128 --threads 1`` (ViT-B/16 at 128/64, random
weights, one process, calls interleaved frame by frame, which on 2 cores inflates every engine
(see :mod:`.backend_comparison`); relative order only) on the 2-core AMD EPYC VM (family 25 model 17 = Zen 4:
AVX-512 executed on 256-bit units, so MKL and oneDNN fp32 GEMMs both reach ~95-105 GFLOP/s per core
and bf16 ~210): forward alone eager 200 ms, openvino 147 ms (x1.36), onnxruntime 156 ms
(x1.29), onednn 183 ms (x1.09), bf16 78 ms (x2.57). On Zen 5 (full-width AVX-512) the fp32 engines
gain about x2.9 and bf16 x5 (docs/cpu-performance.md).
"""
from __future__ import annotations

import abc
import collections
import contextlib
import copy
import io
import logging
import os
import warnings
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

log = logging.getLogger("loretrack")

Maps = Tuple[torch.Tensor, torch.Tensor, torch.Tensor]

FP32_BACKENDS = ("eager", "openvino", "onnxruntime", "onednn")
BF16_BACKENDS = ("bf16", "bf16-autocast", "bf16-weights")
INT8_BACKENDS = ("int8", "int8-ort", "int8-ov", "int8-torch")
ALL_BACKENDS = FP32_BACKENDS + BF16_BACKENDS + INT8_BACKENDS
# tried in this order by ``auto`` (fastest first, measured with `loretrack bench`); eager is the fallback
AUTO_ORDER = ("openvino", "onnxruntime", "onednn")
EXACT_TOL = 1e-5
INPUT_NAMES = ("template", "search")
OUTPUT_NAMES = ("score_map", "size_map", "offset_map")


class BackendError(RuntimeError):
    """A backend that cannot be built or run on this machine."""


class MapsModule(nn.Module):
    """The network restricted to what tracking needs: (template, search) -> (score, size, offset)."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, template: torch.Tensor, search: torch.Tensor):
        out = self.net(template, search)
        return out["score_map"], out["size_map"], out["offset_map"]


def example_inputs(cfg, seed: int = 0) -> Tuple[torch.Tensor, torch.Tensor]:
    """Deterministic normalised-image-like inputs of the network's sizes (for tracing and checks)."""
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(1, 3, cfg.template_size, cfg.template_size, generator=g)
    x = torch.randn(1, 3, cfg.search_size, cfg.search_size, generator=g)
    return z, x


@contextlib.contextmanager
def _quiet_tracing():
    # tracing warns about Python-level shape checks and deprecations that do not apply to a fixed-size graph
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def set_torch_threads(threads: Optional[int]) -> None:
    """PyTorch's intra-op thread count is process-wide: set it only when asked for."""
    if threads is not None:
        if threads < 1:
            raise ValueError(f"threads={threads}: must be >= 1")
        torch.set_num_threads(int(threads))


# ------------------------------------------------------------------------------------------------
# backends
# ------------------------------------------------------------------------------------------------
class Backend(abc.ABC):
    name = "base"
    exact = True  # expected to equal eager within EXACT_TOL
    precision = "fp32"  # the GEMM precision whose peak the backend's speed is compared with

    @abc.abstractmethod
    def __call__(self, template: torch.Tensor, search: torch.Tensor) -> Maps:
        """(score, size, offset) maps of the network for one template/search pair."""

    def engine_info(self, template: torch.Tensor, search: torch.Tensor) -> Dict[str, object]:
        """What the engine reports about one call: {'engine', 'isa' (label or None), ...details}.

        PyTorch-based backends run one call with MKL / oneDNN verbose output on (it costs a forward).
        """
        return _torch_engine_info(lambda: self(template, search), self.precision)


def _torch_engine_info(call: Callable[[], object], precision: str, engine: str = "PyTorch") -> Dict[str, object]:
    from .hardware import isa_of_kernel, read_cpuinfo, summarise_isa, trace_torch_kernels
    tr = trace_torch_kernels(call)
    flags = read_cpuinfo().flags
    by_lib: Dict[str, Optional[str]] = {}
    if "mkl" in tr:
        by_lib["MKL"] = tr["mkl"]["isa"]
    if "onednn" in tr:
        # oneDNN's implementation names carry the data type where it matters (``avx512_core_bf16``,
        # ``jit_int8``); the backend's precision would mislabel its remaining fp32 kernels
        by_lib["oneDNN"] = summarise_isa(isa_of_kernel(k, None, flags) for k in tr["onednn"]["kernels"])
    libs = list(by_lib)
    info: Dict[str, object] = {"engine": engine + (f" ({' + '.join(libs)})" if libs else ""),
                               "isa": summarise_isa(by_lib.values()), "isa_by_library": by_lib,
                               "aten_capability": tr.get("aten")}
    info.update({k: v for k, v in tr.items() if k in ("mkl", "onednn", "error")})
    if not libs:
        info["note"] = "no MKL or oneDNN call seen: GEMMs ran in kernels that do not report their ISA"
    elif info["isa"] is None:
        info["note"] = "the GEMM library did not name its ISA (MKL does not on non-Intel CPUs)"
    return info


class EagerBackend(Backend):
    name = "eager"

    def __init__(self, net: nn.Module, threads: Optional[int] = None):
        set_torch_threads(threads)
        self.net = net.eval()

    def __call__(self, template, search):
        with torch.inference_mode():
            out = self.net(template, search)
        return out["score_map"], out["size_map"], out["offset_map"]


class OneDNNBackend(Backend):
    """Eager PyTorch with each ``nn.Linear`` replaced by a oneDNN linear (weights packed once)."""
    name = "onednn"

    def __init__(self, net: nn.Module, threads: Optional[int] = None):
        if not torch.backends.mkldnn.is_available():
            raise BackendError("PyTorch was built without oneDNN (mkldnn)")
        set_torch_threads(threads)
        self.net = copy.deepcopy(net).eval()
        self._swap(self.net)

    @staticmethod
    def _swap(module: nn.Module) -> None:
        for name, child in module.named_children():
            if isinstance(child, nn.Linear):
                setattr(module, name, _OneDNNLinear(child))
            else:
                OneDNNBackend._swap(child)

    def __call__(self, template, search):
        with torch.inference_mode():
            out = self.net(template, search)
        return out["score_map"], out["size_map"], out["offset_map"]


class _OneDNNLinear(nn.Module):
    def __init__(self, lin: nn.Linear):
        super().__init__()
        self.out_features = lin.out_features
        self.weight = lin.weight.detach().clone().to_mkldnn()
        self.bias = (lin.bias.detach().clone() if lin.bias is not None else torch.zeros(lin.out_features)).to_mkldnn()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lead = x.shape[:-1]
        y = torch._C._nn.mkldnn_linear(x.reshape(-1, x.shape[-1]).contiguous().to_mkldnn(), self.weight, self.bias)
        return y.to_dense().reshape(*lead, self.out_features)


def _openvino():
    try:
        import openvino as ov
    except ImportError as e:  # pragma: no cover - openvino is a declared dependency
        raise BackendError(f"openvino is not installed ({e})") from None
    return ov


def _core():
    _openvino()  # the one-line error when openvino is missing
    from .hardware import openvino_core
    return openvino_core()


def cpu_has_bf16() -> bool:
    """True when the CPU runs bf16 natively (AVX512-BF16 or AMX), as OpenVINO reports it."""
    from .hardware import openvino_capabilities
    return "BF16" in openvino_capabilities()


class OpenVINOBackend(Backend):
    """OpenVINO CPU inference of the converted network (in memory, or an exported IR ``.xml``)."""
    name = "openvino"

    def __init__(self, net: Optional[nn.Module] = None, threads: Optional[int] = None, precision: str = "f32",
                 model_path: Optional[str] = None, cfg=None):
        core = _core()
        if precision not in ("f32", "bf16"):
            raise ValueError(f"OpenVINO precision must be f32 or bf16, got {precision!r}")
        if precision == "bf16":
            self.name, self.exact, self.precision = "bf16", False, "bf16"
            if not cpu_has_bf16():
                raise BackendError("the bf16 backend needs a CPU with AVX512-BF16 or AMX; this one has neither")
        if model_path is not None:
            model = core.read_model(model_path)
        else:
            model = convert_openvino(net)
        config: Dict[str, object] = {"INFERENCE_PRECISION_HINT": precision, "PERFORMANCE_HINT": "LATENCY"}
        if threads is not None:
            if threads < 1:
                raise ValueError(f"threads={threads}: must be >= 1")
            config["INFERENCE_NUM_THREADS"] = int(threads)
        self.compiled = core.compile_model(model, "CPU", config)
        self.request = self.compiled.create_infer_request()

    def __call__(self, template, search):
        self.request.infer({0: template.numpy(), 1: search.numpy()}, share_inputs=True)
        return tuple(torch.from_numpy(self.request.get_output_tensor(i).data.copy()) for i in range(3))

    def engine_info(self, template=None, search=None) -> Dict[str, object]:
        return _openvino_engine_info(self.compiled)


def _openvino_engine_info(compiled) -> Dict[str, object]:
    """Executed precisions and kernels of the heavy layers, from OpenVINO's runtime model."""
    from .hardware import isa_of_kernel, openvino_capabilities, read_cpuinfo, summarise_isa
    info = {"engine": "OpenVINO CPU plugin", "capabilities": openvino_capabilities()}
    try:
        from .hardware import openvino_exec_info
        ex = openvino_exec_info(compiled)
    except Exception as e:
        info.update(isa=None, note=f"runtime model unavailable ({type(e).__name__}: {e})")
        return info
    flags = read_cpuinfo().flags
    info.update(ex)
    info["isa"] = summarise_isa(isa_of_kernel(k, prec, flags) for k, prec, _ in ex["kernel_precisions"])
    with contextlib.suppress(Exception):
        info["inference_precision"] = str(compiled.get_property("INFERENCE_PRECISION_HINT"))
    return info


def convert_openvino(net: nn.Module):
    """Trace the network into an OpenVINO model with named inputs/outputs (fixed sizes)."""
    ov = _openvino()
    z, x = example_inputs(net.cfg)
    with _quiet_tracing(), torch.no_grad():
        model = ov.convert_model(MapsModule(net).eval(), example_input=(z, x))
    for port, name in zip(model.inputs, INPUT_NAMES):
        port.get_tensor().set_names({name})
    for port, name in zip(model.outputs, OUTPUT_NAMES):
        port.get_tensor().set_names({name})
    return model


def export_onnx_bytes(net: nn.Module, opset: int = 17) -> bytes:
    """The network as a serialised ONNX graph (TorchScript exporter, fixed input sizes)."""
    z, x = example_inputs(net.cfg)
    buf = io.BytesIO()
    with _quiet_tracing(), torch.no_grad():
        torch.onnx.export(MapsModule(net).eval(), (z, x), buf, dynamo=False, opset_version=opset,
                          input_names=list(INPUT_NAMES), output_names=list(OUTPUT_NAMES), do_constant_folding=True)
    return buf.getvalue()


class ONNXRuntimeBackend(Backend):
    """ONNX Runtime CPU execution of the exported graph (in memory, or an ``.onnx`` file)."""
    name = "onnxruntime"

    def __init__(self, net: Optional[nn.Module] = None, threads: Optional[int] = None,
                 model_path: Optional[str] = None):
        try:
            import onnxruntime as ort
        except ImportError as e:  # pragma: no cover - declared dependency
            raise BackendError(f"onnxruntime is not installed ({e})") from None
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.inter_op_num_threads = 1
        if threads is not None:
            if threads < 1:
                raise ValueError(f"threads={threads}: must be >= 1")
            opts.intra_op_num_threads = int(threads)
        opts.log_severity_level = 3
        source = model_path if model_path is not None else export_onnx_bytes(net)
        self.session = ort.InferenceSession(source, opts, providers=["CPUExecutionProvider"])
        self.input_names = [i.name for i in self.session.get_inputs()]

    def __call__(self, template, search):
        feeds = {self.input_names[0]: template.numpy(), self.input_names[1]: search.numpy()}
        return tuple(torch.from_numpy(o) for o in self.session.run(None, feeds))

    def engine_info(self, template=None, search=None) -> Dict[str, object]:
        return {"engine": "ONNX Runtime CPU (MLAS)", "isa": None,
                "note": "ONNX Runtime does not report which MLAS kernels (ISA) it dispatched"}


def cpu_native_bf16() -> bool:
    """True when /proc/cpuinfo lists AVX512-BF16 or AMX-BF16 (PyTorch would otherwise emulate bf16)."""
    from .hardware import native_bf16, read_cpuinfo
    return native_bf16(read_cpuinfo().flags)


class TorchBF16Backend(Backend):
    """PyTorch in bf16 through oneDNN's bf16 GEMMs.

    ``mode="autocast"`` keeps fp32 weights and runs the forward under ``torch.autocast("cpu",
    bfloat16)`` (Linear/matmul inputs and weights converted per call); ``mode="weights"`` stores the
    network in bf16 once and feeds bf16 inputs (no per-call conversion; LayerNorm/softmax also in
    bf16). Outputs are returned as float32.
    """
    exact = False
    precision = "bf16"

    def __init__(self, net: nn.Module, threads: Optional[int] = None, mode: str = "autocast"):
        if mode not in ("autocast", "weights"):
            raise ValueError(f"bf16 torch mode must be autocast or weights, got {mode!r}")
        if not cpu_native_bf16():
            raise BackendError("the bf16 backends need a CPU with AVX512-BF16 or AMX; this one has neither")
        set_torch_threads(threads)
        self.name, self.mode = f"bf16-{mode}", mode
        self.net = copy.deepcopy(net).eval()
        if mode == "weights":
            self.net = self.net.to(torch.bfloat16)

    def __call__(self, template, search):
        with torch.inference_mode():
            if self.mode == "weights":
                out = self.net(template.to(torch.bfloat16), search.to(torch.bfloat16))
            else:
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    out = self.net(template, search)
        return tuple(out[k].float() for k in OUTPUT_NAMES)


class TorchInt8Backend(Backend):
    """``torch.ao`` dynamic quantisation: every ``nn.Linear`` with per-tensor qint8 weights, the
    activations quantised per call from their own range (no calibration data)."""
    name = "int8-torch"
    exact = False
    precision = "int8"

    def __init__(self, net: nn.Module, threads: Optional[int] = None):
        set_torch_threads(threads)
        try:
            from torch.ao.quantization import quantize_dynamic
        except ImportError as e:  # pragma: no cover - removed from a future PyTorch
            raise BackendError(f"torch.ao.quantization is unavailable ({e})") from None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch.ao.quantization's deprecation notice
            self.net = quantize_dynamic(copy.deepcopy(net).eval(), {nn.Linear}, dtype=torch.qint8)
        self.engine = str(torch.backends.quantized.engine)

    def __call__(self, template, search):
        with torch.inference_mode():
            out = self.net(template, search)
        return tuple(out[k].float() for k in OUTPUT_NAMES)

    def engine_info(self, template, search) -> Dict[str, object]:
        info = _torch_engine_info(lambda: self(template, search), "int8",
                                  engine=f"PyTorch quantized engine {self.engine!r}")
        info["note"] = (f"the int8 Linear kernels of torch.backends.quantized.engine={self.engine!r} (FBGEMM) do "
                        "not report their ISA; MKL/oneDNN lines, if any, are the remaining fp32 ops")
        return info


class ONNXRuntimeInt8Backend(ONNXRuntimeBackend):
    """ONNX Runtime on the exported graph after ``quantize_dynamic``: per-channel int8 weights of the
    MatMul/Gemm nodes, DynamicQuantizeLinear on their inputs, MatMulInteger (u8 x s8) in MLAS.

    ``reduce_range`` (None: decided from the CPU) keeps the weights within +-64. On an AVX2-only
    CPU (AMD Zen 3, 2026-12-07) full-range weights saturated the u8 x s8 kernels: teacher-forced on
    all 535 frames of the shipped real sample, the shipped student's guard re-ran 258 frames (max map
    difference to eager 0.130); with 7-bit weights 116 (0.031), near the 471 of 2,095 real-otb frames
    measured with 8-bit weights on AVX-512 VNNI (Zen 4, 2026-11-30). VNNI and AMX CPUs keep 8 bits.
    """
    name = "int8-ort"
    exact = False
    precision = "int8"

    def __init__(self, net: nn.Module, threads: Optional[int] = None, reduce_range: Optional[bool] = None):
        import tempfile
        try:
            from onnxruntime.quantization import QuantType, quantize_dynamic
        except ImportError as e:  # pragma: no cover - part of onnxruntime
            raise BackendError(f"onnxruntime.quantization is unavailable ({e})") from None
        self.reduce_range = _int8_reduce_range() if reduce_range is None else bool(reduce_range)
        with tempfile.TemporaryDirectory(prefix="loretrack-int8-") as d:
            src, dst = os.path.join(d, "fp32.onnx"), os.path.join(d, "int8.onnx")
            with open(src, "wb") as f:
                f.write(export_onnx_bytes(net))
            ort_log = logging.getLogger()  # quantize_dynamic warns on the root logger about pre-processing
            level = ort_log.level
            ort_log.setLevel(logging.ERROR)
            try:
                quantize_dynamic(src, dst, weight_type=QuantType.QInt8, per_channel=True,
                                 reduce_range=self.reduce_range, op_types_to_quantize=["MatMul", "Gemm"])
            finally:
                ort_log.setLevel(level)
            with open(dst, "rb") as f:
                model_bytes = f.read()
        import onnx
        graph = onnx.load_from_string(model_bytes).graph
        self.op_counts = dict(collections.Counter(n.op_type for n in graph.node
                                                  if "Integer" in n.op_type or "Quant" in n.op_type))
        self.weight_extent = _int8_weight_extent(graph)
        super().__init__(model_path=model_bytes, threads=threads)

    def engine_info(self, template=None, search=None) -> Dict[str, object]:
        info = super().engine_info()
        info["quantized_ops"] = self.op_counts
        info["reduce_range"] = self.reduce_range
        info["int8_weight_extent"] = self.weight_extent
        return info


_REDUCE_RANGE_SAID = False


def _int8_reduce_range() -> bool:
    """7-bit int8-ort weights on CPUs whose u8 x s8 kernels saturate; said once per process."""
    global _REDUCE_RANGE_SAID
    from .hardware import cpu_summary, read_cpuinfo, u8s8_pairs_saturate
    cpu = read_cpuinfo()
    reduce = u8s8_pairs_saturate(cpu.flags)
    if reduce and not _REDUCE_RANGE_SAID:
        _REDUCE_RANGE_SAID = True
        log.info("int8-ort: weights kept to 7 bits (reduce_range): %s has no VNNI or AMX-INT8, so its u8 x s8 "
                 "kernels saturate with full 8-bit weights", cpu_summary(cpu))
    return reduce


def _int8_weight_extent(graph) -> int:
    """Largest |value| among the graph's int8 initializers (127 for full-range weights, 64 reduced)."""
    import numpy as np
    from onnx import TensorProto, numpy_helper
    arrays = (numpy_helper.to_array(t) for t in graph.initializer if t.data_type == TensorProto.INT8)
    return max((int(np.abs(a.astype(np.int16)).max()) for a in arrays if a.size), default=0)


def synthetic_calibration(cfg, sequences: int = 4, frames: int = 9, search_factor: float = 5.0,
                          template_factor: float = 2.0, seed: int = 0) -> List[Dict[str, object]]:
    """Calibration inputs for static quantisation: (template, search) crops cut as the tracker cuts
    them (search around the previous frame's box) from the project's synthetic tracking sequences,
    so no evaluation frame is used for calibration."""
    import numpy as np
    from ..synthetic.render import render_sequence
    from .crop import sample_target
    from .inputs import normalise_patch
    out = []
    for k in range(sequences):
        seq = render_sequence(np.random.default_rng(seed + k), frames)
        z = normalise_patch(sample_target(seq.frames[0], seq.boxes[0], template_factor, cfg.template_size)[0])
        for i in range(1, frames):
            x = normalise_patch(sample_target(seq.frames[i], seq.boxes[i - 1], search_factor, cfg.search_size)[0])
            out.append({"template": z.numpy(), "search": x.numpy()})
    return out


class OpenVINOInt8Backend(Backend):
    """OpenVINO after NNCF post-training static quantisation (``nncf.quantize``, transformer preset:
    int8 weights per channel, int8 activations with ranges calibrated on :func:`synthetic_calibration`;
    SmoothQuant off and convolutions (patch embedding, head) left in fp32, which kept the score error
    lowest on the shipped real frames). The quantised MatMuls run u8/i8 x i8 kernels (VNNI or AMX-INT8)."""
    name = "int8-ov"
    exact = False
    precision = "int8"

    def __init__(self, net: nn.Module, threads: Optional[int] = None, calibration=None):
        core = _core()
        try:
            import nncf
            from nncf.quantization.advanced_parameters import (AdvancedQuantizationParameters,
                                                               AdvancedSmoothQuantParameters)
        except ImportError as e:
            raise BackendError(f"the int8-ov backend needs nncf ({e})") from None
        if threads is not None and threads < 1:
            raise ValueError(f"threads={threads}: must be >= 1")
        data = calibration if calibration is not None else synthetic_calibration(net.cfg)
        model = convert_openvino(net)
        nncf_log = logging.getLogger("nncf")
        level = nncf_log.level
        nncf_log.setLevel(logging.ERROR)
        try:
            with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
                warnings.simplefilter("ignore")
                model = nncf.quantize(
                    model, nncf.Dataset(data), subset_size=len(data), model_type=nncf.ModelType.TRANSFORMER,
                    ignored_scope=nncf.IgnoredScope(types=["Convolution"]),
                    advanced_parameters=AdvancedQuantizationParameters(
                        smooth_quant_alphas=AdvancedSmoothQuantParameters(matmul=-1)))
        finally:
            nncf_log.setLevel(level)
        config: Dict[str, object] = {"INFERENCE_PRECISION_HINT": "f32", "PERFORMANCE_HINT": "LATENCY"}
        if threads is not None:
            config["INFERENCE_NUM_THREADS"] = int(threads)
        self.compiled = core.compile_model(model, "CPU", config)
        self.request = self.compiled.create_infer_request()

    __call__ = OpenVINOBackend.__call__

    def engine_info(self, template=None, search=None) -> Dict[str, object]:
        return _openvino_engine_info(self.compiled)


# the backend that ``int8`` names: chosen from the candidates above by accuracy on the shipped real
# frames (same peak cell as eager) and speed; measure the others with `loretrack bench`
INT8_DEFAULT = "int8-ort"


_FACTORIES: Dict[str, Callable[..., Backend]] = {
    "eager": EagerBackend,
    "openvino": OpenVINOBackend,
    "onnxruntime": ONNXRuntimeBackend,
    "onednn": OneDNNBackend,
    "bf16": lambda net, threads=None: OpenVINOBackend(net, threads=threads, precision="bf16"),
    "bf16-autocast": lambda net, threads=None: TorchBF16Backend(net, threads=threads, mode="autocast"),
    "bf16-weights": lambda net, threads=None: TorchBF16Backend(net, threads=threads, mode="weights"),
    "int8-ort": ONNXRuntimeInt8Backend,
    "int8-ov": OpenVINOInt8Backend,
    "int8-torch": TorchInt8Backend,
}
_FACTORIES["int8"] = lambda net, threads=None: _FACTORIES[INT8_DEFAULT](net, threads=threads)


def check_backend_name(name: Optional[str]) -> str:
    name = "auto" if name in (None, "") else str(name).lower()
    if name != "auto" and name not in _FACTORIES:
        raise ValueError(f"backend {name!r}: choose one of auto, {', '.join(_FACTORIES)}")
    return name


# what a tracker may run: int8 does not ship (issue 14's bar: a reduced-precision tracker's success AUC
# on real video within 0.5 point of eager's; int8 missed it by +1.07 for the shipped student in one
# loop and by -0.93 for the shipped teacher). `loretrack bench` still builds and measures it.
TRACKER_BACKENDS = ("auto",) + FP32_BACKENDS + BF16_BACKENDS


def check_tracker_backend(name: Optional[str]) -> str:
    """``check_backend_name`` for a tracker: the int8 backends are refused with the reason."""
    name = check_backend_name(name)
    if name not in TRACKER_BACKENDS:
        raise ValueError(f"backend {name!r} does not ship for tracking: its tracker's success AUC on real video "
                         f"left the 0.5-point bar around eager's (experiments/bench_results/README.md); choose one of "
                         f"{', '.join(TRACKER_BACKENDS)} (`loretrack bench --backends {name}` still measures it)")
    return name


def create_backend(name: str, net: nn.Module, threads: Optional[int] = None) -> Backend:
    """Build backend ``name`` (not ``auto``) for ``net``; raises BackendError if the engine fails."""
    name = check_backend_name(name)
    if name == "auto":
        raise ValueError("create_backend: resolve 'auto' with TrackerCore or choose_backend")
    try:
        return _FACTORIES[name](net, threads=threads)
    except (BackendError, ValueError):
        raise
    except Exception as e:  # conversion/compilation failures inside the engines
        raise BackendError(f"backend {name}: {type(e).__name__}: {str(e).strip().splitlines()[0] if str(e) else ''}"
                           ) from e


def max_abs_diff(a: Maps, b: Maps) -> float:
    """Largest absolute difference over the three maps."""
    return max(float((x.float() - y.float()).abs().max()) for x, y in zip(a, b))


def choose_backend(net: nn.Module, template: torch.Tensor, search: torch.Tensor, reference: Maps,
                   threads: Optional[int] = None, order: Sequence[str] = AUTO_ORDER,
                   tol: float = EXACT_TOL) -> Tuple[Backend, str, float]:
    """The first backend of ``order`` that builds and whose maps equal ``reference`` within ``tol``.

    Returns (backend, reason, max |diff| to the reference). Falls back to eager (diff 0; the reason
    says why every candidate was rejected).
    """
    rejected = []
    for name in order:
        try:
            be = create_backend(name, net, threads=threads)
            out = be(template, search)
        except (BackendError, ValueError, RuntimeError) as e:
            rejected.append(f"{name}: {e}")
            continue
        diff = max_abs_diff(out, reference)
        if diff <= tol:
            return be, f"{name} (max |diff| vs eager {diff:.1e} <= {tol:g})", diff
        rejected.append(f"{name}: max |diff| vs eager {diff:.1e} > {tol:g}")
        del be
    reason = ("eager (" + "; ".join(rejected) + ")") if rejected else "eager"
    return EagerBackend(net, threads=threads), reason, 0.0


def load_exported(path: str, threads: Optional[int] = None) -> Backend:
    """A backend running an exported file: ``.onnx`` (ONNX Runtime) or ``.xml`` (OpenVINO IR)."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"exported model not found: {path}")
    if path.endswith(".onnx"):
        return ONNXRuntimeBackend(model_path=path, threads=threads)
    if path.endswith(".xml"):
        return OpenVINOBackend(model_path=path, threads=threads)
    raise ValueError(f"{path}: unknown exported model type (expected .onnx or .xml)")

