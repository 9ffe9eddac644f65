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
* ``auto``         the fastest fp32 backend whose maps equal ``eager`` within 1e-5 on the warm-up
                   input (see :data:`AUTO_ORDER` and :func:`loretrack_plugin.tracking.core.TrackerCore`).

Measured with ``loretrack bench --tracker loretrack-128 --threads 1`` (ViT-B/16 at 128/64, random
weights, one process, calls interleaved) on the 2-core AMD EPYC VM (family 25 model 17 = Zen 4:
AVX-512 executed on 256-bit units, so MKL and oneDNN fp32 GEMMs both reach ~95-105 GFLOP/s per core
and bf16 ~210): forward alone eager 200 ms, openvino 147 ms (x1.36), onnxruntime 156 ms
(x1.29), onednn 183 ms (x1.09), bf16 78 ms (x2.57). On Zen 5 (full-width AVX-512) the fp32 engines
gain about x2.9 and bf16 x5 (docs/cpu-performance.md).
"""
from __future__ import annotations

import abc
import contextlib
import copy
import io
import logging
import os
import warnings
from typing import Callable, Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn

log = logging.getLogger("loretrack")

Maps = Tuple[torch.Tensor, torch.Tensor, torch.Tensor]

FP32_BACKENDS = ("eager", "openvino", "onnxruntime", "onednn")
ALL_BACKENDS = FP32_BACKENDS + ("bf16",)
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

    @abc.abstractmethod
    def __call__(self, template: torch.Tensor, search: torch.Tensor) -> Maps:
        """(score, size, offset) maps of the network for one template/search pair."""


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


def cpu_has_bf16() -> bool:
    """True when the CPU runs bf16 natively (AVX512-BF16 or AMX), as OpenVINO reports it."""
    try:
        caps = _openvino().Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    except Exception:
        return False
    return "BF16" in caps


class OpenVINOBackend(Backend):
    """OpenVINO CPU inference of the converted network (in memory, or an exported IR ``.xml``)."""
    name = "openvino"

    def __init__(self, net: Optional[nn.Module] = None, threads: Optional[int] = None, precision: str = "f32",
                 model_path: Optional[str] = None, cfg=None):
        ov = _openvino()
        if precision not in ("f32", "bf16"):
            raise ValueError(f"OpenVINO precision must be f32 or bf16, got {precision!r}")
        if precision == "bf16":
            self.name, self.exact = "bf16", False
            if not cpu_has_bf16():
                raise BackendError("the bf16 backend needs a CPU with AVX512-BF16 or AMX; this one has neither")
        core = ov.Core()
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


_FACTORIES: Dict[str, Callable[..., Backend]] = {
    "eager": EagerBackend,
    "openvino": OpenVINOBackend,
    "onnxruntime": ONNXRuntimeBackend,
    "onednn": OneDNNBackend,
    "bf16": lambda net, threads=None: OpenVINOBackend(net, threads=threads, precision="bf16"),
}


def check_backend_name(name: Optional[str]) -> str:
    name = "auto" if name in (None, "") else str(name).lower()
    if name != "auto" and name not in _FACTORIES:
        raise ValueError(f"backend {name!r}: choose one of auto, {', '.join(_FACTORIES)}")
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

