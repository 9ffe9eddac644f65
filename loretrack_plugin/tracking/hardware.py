"""What this CPU can do, detected and measured in the same run as the tracker timings.

Speed is stated as a fraction of the machine's own GEMM peak (docs/cpu-performance.md): ``loretrack
bench`` calls :func:`measure_gemm_peaks` for every precision it times (fp32, bf16, int8), divides
the FLOPs of one tracker forward by the step time and reports the achieved fraction of the peak of
the backend's precision.

* The CPU and its instruction sets come from ``/proc/cpuinfo`` (:func:`read_cpuinfo`,
  :func:`isa_labels`); whether bf16 / int8 run natively is decided from those flags, never assumed.
* The peak of a precision is the best of several engines (best of N calls of one large GEMM each),
  because which library reaches the hardware peak depends on the CPU: MKL picks AVX2-class kernels
  on AMD, oneDNN and OpenVINO pick AVX-512 / AMX kernels. Every engine's figure is kept.
* The ISA an engine used is what the engine reports: PyTorch's ATen capability, MKL's and oneDNN's
  verbose lines (:func:`trace_torch_kernels`), OpenVINO's executed kernel names and precisions
  (:func:`openvino_exec_info`). ONNX Runtime does not report its MLAS kernel choice.
"""
from __future__ import annotations

import contextlib
import ctypes
import os
import re
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

PRECISIONS = ("fp32", "bf16", "int8")


# ------------------------------------------------------------------------------------------------
# CPU identification
# ------------------------------------------------------------------------------------------------
@dataclass
class CpuInfo:
    model_name: str = "?"
    vendor: str = "?"
    family: str = "?"
    model: str = "?"
    flags: frozenset = field(default_factory=frozenset)

    @property
    def isa(self) -> List[str]:
        return isa_labels(self.flags)

    def as_dict(self) -> Dict[str, object]:
        return {"model_name": self.model_name, "vendor": self.vendor, "family": self.family, "model": self.model,
                "isa": self.isa, "native_bf16": native_bf16(self.flags), "native_int8": native_int8(self.flags)}


def read_cpuinfo(text: Optional[str] = None) -> CpuInfo:
    """The first processor's entry of ``/proc/cpuinfo`` (or of ``text``)."""
    if text is None:
        try:
            with open("/proc/cpuinfo") as f:
                text = f.read()
        except OSError:
            import platform
            return CpuInfo(model_name=platform.processor() or platform.machine())
    info: Dict[str, str] = {}
    for line in text.splitlines():
        k, sep, v = line.partition(":")
        if sep:
            info.setdefault(k.strip(), v.strip())
    return CpuInfo(model_name=info.get("model name", "?"), vendor=info.get("vendor_id", "?"),
                   family=info.get("cpu family", "?"), model=info.get("model", "?"),
                   flags=frozenset(info.get("flags", "").split()))


# (cpuinfo flag, label) in the order they are printed
_FLAG_LABELS = (("avx2", "AVX2"), ("avx_vnni", "AVX_VNNI"), ("avx512f", "AVX-512"), ("avx512_vnni", "AVX512_VNNI"),
                ("avx512_bf16", "AVX512_BF16"), ("avx512_fp16", "AVX512_FP16"), ("amx_bf16", "AMX-BF16"),
                ("amx_int8", "AMX-INT8"))


def isa_labels(flags: Iterable[str]) -> List[str]:
    """The vector / matrix instruction sets among cpuinfo ``flags`` that decide GEMM speed."""
    flags = set(flags)
    return [label for flag, label in _FLAG_LABELS if flag in flags]


def native_bf16(flags: Iterable[str]) -> bool:
    """bf16 dot products in hardware: AVX512-BF16 or AMX-BF16."""
    flags = set(flags)
    return "avx512_bf16" in flags or "amx_bf16" in flags


def native_int8(flags: Iterable[str]) -> bool:
    """int8 dot products in hardware: VNNI (AVX-512 or AVX) or AMX-INT8."""
    flags = set(flags)
    return bool(flags & {"avx512_vnni", "avx_vnni", "amx_int8"})


def u8s8_pairs_saturate(flags: Iterable[str]) -> bool:
    """Do u8 x s8 integer GEMMs risk saturating on this CPU?

    Without VNNI or AMX-INT8, x86 int8 GEMMs (ONNX Runtime's MLAS, FBGEMM) multiply with
    ``vpmaddubsw``, which adds two u8 x s8 products into a saturating int16: 2 x 255 x 127 = 64770
    does not fit, so large activations against large weights clip. Weights kept within +-64 (7 bits)
    cannot clip (2 x 255 x 64 = 32640). VNNI and AMX accumulate in int32 and need no such limit.
    """
    return not native_int8(flags)


def cpu_summary(info: Optional[CpuInfo] = None) -> str:
    """CPU model, family/model numbers and the instruction sets that decide the backends' speed."""
    info = info or read_cpuinfo()
    return (f"{info.model_name} (family {info.family}, model {info.model}; "
            f"{' '.join(info.isa) or 'no AVX2'})")


# ------------------------------------------------------------------------------------------------
# what the engines report
# ------------------------------------------------------------------------------------------------
def isa_of_kernel(name: str, precision: Optional[str] = None, flags: Iterable[str] = ()) -> Optional[str]:
    """ISA label of an engine's kernel name (oneDNN ``brg_matmul:avx512_core_bf16``, OpenVINO
    ``brgemm_avx512_amx``, ``jit_avx2_I8``...), or None when the name does not tell (``gemm_mlas_f32``,
    ``ref``). ``precision`` (``i8``/``u8``/``bf16``...) is the executed precision when the name lacks it.
    """
    n = name.lower()
    prec = "" if re.search(r"(^|[_:])f32\b", n) else (precision or "").lower()  # the name's own type wins
    int8 = bool(re.search(r"(^|[_:])(i8|u8|s8|int8)\b", n)) or prec in ("i8", "u8", "int8")
    bf16 = "bf16" in n or prec == "bf16"
    if "amx" in n:
        return "AMX-INT8" if int8 else "AMX-BF16" if bf16 else "AMX"
    if "avx512" in n:
        if "bf16" in n:
            return "AVX512_BF16"
        if "vnni" in n:
            return "AVX512_VNNI"
        # oneDNN's brgemm int8 kernels on avx512_core need VNNI; the name only says avx512
        if int8 and "avx512_vnni" in set(flags):
            return "AVX512_VNNI"
        return "AVX-512"
    if "avx2" in n:
        if "vnni" in n or (int8 and "avx_vnni" in set(flags)):
            return "AVX_VNNI"
        return "AVX2"
    if re.search(r"sse4[_.]?1|sse41", n):
        return "SSE4.1"
    return None


def parse_onednn_isa(line: str) -> Optional[str]:
    """ISA label from oneDNN's ``...,info,cpu,isa:<text>`` verbose line (or its text alone)."""
    m = re.search(r"isa:(.*)$", line.strip())
    text = (m.group(1) if m else line).lower()
    if "amx" in text:
        return "AMX-INT8" if "8-bit" in text and "bfloat16" not in text else "AMX-BF16" if "bfloat16" in text else "AMX"
    if "avx-512" in text or "avx512" in text:
        if "bfloat16" in text:
            return "AVX512_BF16"
        if "dl boost" in text or "vnni" in text:
            return "AVX512_VNNI"
        return "AVX-512"
    if "avx2" in text:
        return "AVX_VNNI" if ("dl boost" in text or "vnni" in text) else "AVX2"
    if "avx" in text:
        return "AVX"
    if "sse4.1" in text or "sse41" in text:
        return "SSE4.1"
    return None


def parse_onednn_verbose(text: str) -> Dict[str, object]:
    """oneDNN verbose output -> {'isa': label or None, 'isa_text', 'kernels': {impl: calls}} of the
    matmul / inner-product / convolution primitives executed (``onednn_verbose,...,exec,cpu,<prim>,<impl>``)."""
    isa_text, kernels = None, Counter()
    for line in text.splitlines():
        if not line.startswith("onednn_verbose") and not line.startswith("dnnl_verbose"):
            continue
        parts = line.split(",")
        if "isa:" in line and isa_text is None:
            isa_text = line.split("isa:", 1)[1].strip()
            continue
        if "exec" in parts:
            i = parts.index("exec")
            if len(parts) > i + 3 and parts[i + 2] in ("matmul", "inner_product", "convolution", "gemm_api"):
                impl = parts[i + 3] or parts[i + 2]
                kernels[f"{parts[i + 2]}:{impl}"] += 1
    return {"isa": parse_onednn_isa(isa_text) if isa_text else None, "isa_text": isa_text, "kernels": dict(kernels)}


def parse_mkl_verbose(text: str) -> Dict[str, object]:
    """MKL verbose output -> {'isa': label or None, 'header', 'calls': {routine: calls}}.

    MKL's first line names the code path it dispatched (``Intel(R) AVX-512 ... (Intel(R) AMX) enabled
    processors``); on non-Intel CPUs it says only ``Intel(R) Architecture processors`` (no ISA).
    """
    header, calls = None, Counter()
    for line in text.splitlines():
        if not line.startswith("MKL_VERBOSE"):
            continue
        body = line[len("MKL_VERBOSE"):].strip()
        m = re.match(r"([A-Z0-9_]+)\(", body)
        if m:
            calls[m.group(1)] += 1
        elif header is None:
            header = body
    isa = None
    if header:
        h = header.lower()
        if "amx" in h:
            isa = "AMX"
        elif "avx-512" in h or "avx512" in h:
            isa = "AVX512_VNNI" if ("dl boost" in h or "vnni" in h) else "AVX-512"
        elif "avx2" in h:
            isa = "AVX2"
        elif re.search(r"\bavx\b", h):
            isa = "AVX"
        elif "sse4" in h:
            isa = "SSE4.2"
    return {"isa": isa, "header": header, "calls": dict(calls)}


@contextlib.contextmanager
def capture_native_stdout():
    """Collect what native code (C ``printf``) writes to file descriptor 1 while the block runs.

    Yields a list that holds the captured text after the block.
    """
    out: List[str] = []
    sys.stdout.flush()
    libc = None
    with contextlib.suppress(OSError):
        libc = ctypes.CDLL(None)
    saved = os.dup(1)
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        os.dup2(tmp.fileno(), 1)
        try:
            yield out
        finally:
            if libc is not None:
                libc.fflush(None)
            sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)
            tmp.seek(0)
            out.append(tmp.read().decode("utf-8", "replace"))


def trace_torch_kernels(fn: Callable[[], object]) -> Dict[str, object]:
    """Run ``fn`` once with MKL and oneDNN verbose output on and report which GEMM libraries, kernels
    and ISAs PyTorch used: {'aten': capability, 'mkl': {...}, 'onednn': {...}}."""
    import torch
    res: Dict[str, object] = {"aten": torch_capability()}
    try:
        with capture_native_stdout() as out:
            with torch.backends.mkl.verbose(torch.backends.mkl.VERBOSE_ON), \
                    torch.backends.mkldnn.verbose(torch.backends.mkldnn.VERBOSE_ON):
                fn()
    except Exception as e:  # verbose modes unavailable in this build: say so, do not fail the bench
        res["error"] = f"{type(e).__name__}: {e}"
        return res
    text = out[0] if out else ""
    mkl, dnn = parse_mkl_verbose(text), parse_onednn_verbose(text)
    if mkl["calls"]:
        res["mkl"] = mkl
    if dnn["kernels"]:
        res["onednn"] = dnn
    return res


def torch_capability() -> Optional[str]:
    """PyTorch's ATen vector capability (``AVX2``, ``AVX512``, ``DEFAULT``...)."""
    try:
        import torch
        return str(torch.backends.cpu.get_cpu_capability())
    except Exception:
        return None


_OV_HEAVY = ("FullyConnected", "MatMul", "Convolution", "GroupConvolution", "ScaledDotProductAttention")


def openvino_exec_info(compiled) -> Dict[str, object]:
    """Executed precisions and kernels of an OpenVINO compiled model's heavy layers (FC, MatMul, Conv),
    from the runtime model's ``layerType`` / ``runtimePrecision`` / ``primitiveType``."""
    layers, kernels, precisions, pairs = Counter(), Counter(), Counter(), Counter()
    for op in compiled.get_runtime_model().get_ordered_ops():
        rt = op.get_rt_info()

        def get(key):
            return str(rt[key].astype(str)) if key in rt else ""
        kind = get("layerType")
        if kind not in _OV_HEAVY:
            continue
        layers[kind] += 1
        precisions[get("runtimePrecision")] += 1
        kernels[get("primitiveType")] += 1
        pairs[(get("primitiveType"), get("runtimePrecision"))] += 1
    return {"layers": dict(layers), "precisions": dict(precisions), "kernels": dict(kernels),
            "kernel_precisions": [[k, p, n] for (k, p), n in pairs.items()]}


_OV_CORE = None


def openvino_core():
    """The process's one ``openvino.Core``, created on first use.

    Every OpenVINO engine of the package is compiled by this object. A second ``Core`` in the same
    process is what other projects traced segfaults to after many model loads. With one ``Core`` per
    engine, the full test suite's process segfaulted (exit 139, in a later two-process DDP test) in
    4 of 8 runs that built the extra fp32 engine of every bf16/int8 tracker (``fp32_recheck``); with
    this one ``Core``, in none of 6 (2026-11-30).
    """
    global _OV_CORE
    if _OV_CORE is None:
        import openvino as ov
        _OV_CORE = ov.Core()
    return _OV_CORE


def openvino_capabilities() -> List[str]:
    try:
        return [str(c) for c in openvino_core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")]
    except Exception:
        return []


def summarise_isa(labels: Iterable[Optional[str]]) -> Optional[str]:
    """Distinct labels joined with '+', most capable first (None entries dropped)."""
    order = ["AMX-INT8", "AMX-BF16", "AMX", "AVX512_BF16", "AVX512_VNNI", "AVX512_FP16", "AVX-512", "AVX_VNNI",
             "AVX2", "AVX", "SSE4.2", "SSE4.1"]
    got = {x for x in labels if x}
    if not got:
        return None
    return "+".join(sorted(got, key=lambda x: order.index(x) if x in order else len(order)))


# ------------------------------------------------------------------------------------------------
# GEMM peaks
# ------------------------------------------------------------------------------------------------
@dataclass
class GemmPeak:
    precision: str
    gflops: float = 0.0                                       # best over engines (0 when none ran)
    engine: Optional[str] = None                              # the engine that reached it
    by_engine: Dict[str, float] = field(default_factory=dict)
    native: bool = True                                       # the CPU has instructions for it
    isa: Dict[str, Optional[str]] = field(default_factory=dict)  # engine -> ISA label it reported
    notes: List[str] = field(default_factory=list)
    shape: Tuple[int, int, int] = (0, 0, 0)

    def as_dict(self) -> Dict[str, object]:
        return {"precision": self.precision, "gflops": self.gflops, "engine": self.engine,
                "by_engine": dict(self.by_engine), "native": self.native, "isa": dict(self.isa),
                "notes": list(self.notes), "shape_mkn": list(self.shape)}


def _best_time(fn: Callable[[], object], repeats: int, warmup: int = 2, min_seconds: float = 0.0) -> float:
    for _ in range(warmup):
        fn()
    best, t_start, n = float("inf"), time.perf_counter(), 0
    while n < repeats or time.perf_counter() - t_start < min_seconds:
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
        n += 1
    return best


def _torch_mm(precision: str, M: int, K: int, N: int):
    import torch
    g = torch.Generator().manual_seed(0)
    if precision == "int8":
        a = torch.randint(-64, 64, (M, K), dtype=torch.int8, generator=g)
        b = torch.randint(-64, 64, (K, N), dtype=torch.int8, generator=g)
        torch._int_mm(a, b)  # raises where this build has no CPU int8 matmul
        return lambda: torch._int_mm(a, b)
    dtype = torch.float32 if precision == "fp32" else torch.bfloat16
    a = torch.randn(M, K, generator=g).to(dtype)
    b = torch.randn(K, N, generator=g).to(dtype)
    return lambda: torch.mm(a, b)


def _torch_onednn_linear(precision: str, M: int, K: int, N: int):
    """oneDNN inner product through ``mkldnn_linear`` (fp32, the ``onednn`` backend's path)."""
    import torch
    if precision != "fp32":
        raise ValueError("oneDNN linear timed in fp32 only")
    if not torch.backends.mkldnn.is_available():
        raise RuntimeError("PyTorch was built without oneDNN")
    g = torch.Generator().manual_seed(0)
    x = torch.randn(M, K, generator=g).to_mkldnn()
    w = torch.randn(N, K, generator=g).to_mkldnn()
    b = torch.zeros(N).to_mkldnn()
    return lambda: torch._C._nn.mkldnn_linear(x, w, b)


def _openvino_mm(precision: str, M: int, K: int, N: int, threads: Optional[int]):
    """One MatMul with constant weights (a FullyConnected layer); int8 through FakeQuantize on both
    operands, which OpenVINO's low-precision pipeline turns into a u8 x i8 kernel."""
    import numpy as np
    import openvino as ov
    import openvino.opset13 as ops
    rng = np.random.default_rng(0)
    a = ops.parameter([M, K], ov.Type.f32, name="a")
    w = ops.constant(rng.standard_normal((K, N)).astype(np.float32))
    x, y = a, w
    if precision == "int8":
        lo, hi = ops.constant(np.float32(-4.0)), ops.constant(np.float32(4.0))
        x = ops.fake_quantize(a, lo, hi, lo, hi, 256)
        y = ops.fake_quantize(w, lo, hi, lo, hi, 255)
    model = ov.Model([ops.matmul(x, y, False, False)], [a], "gemm_peak")
    cfg: Dict[str, object] = {"INFERENCE_PRECISION_HINT": "bf16" if precision == "bf16" else "f32",
                              "PERFORMANCE_HINT": "LATENCY"}
    if threads:
        cfg["INFERENCE_NUM_THREADS"] = int(threads)
    compiled = openvino_core().compile_model(model, "CPU", cfg)
    req = compiled.create_infer_request()
    inp = rng.standard_normal((M, K)).astype(np.float32)
    info = openvino_exec_info(compiled)
    want = {"fp32": "f32", "bf16": "bf16", "int8": ("i8", "u8")}[precision]
    got = set(info["precisions"])
    if not got & ({want} if isinstance(want, str) else set(want)):
        raise RuntimeError(f"OpenVINO executed the {precision} GEMM in {sorted(got)}")
    fn = lambda: req.infer({0: inp}, share_inputs=True)  # noqa: E731
    fn.isa = summarise_isa(isa_of_kernel(k, p, read_cpuinfo().flags) for k, p, _ in info["kernel_precisions"])
    return fn


def _onnxruntime_mm(precision: str, M: int, K: int, N: int, threads: Optional[int]):
    """ONNX Runtime MatMul (fp32) or MatMulInteger (u8 x s8 -> s32) with a constant weight."""
    import numpy as np
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper
    if precision == "bf16":
        raise ValueError("ONNX Runtime's CPU provider has no bf16 MatMul")
    rng = np.random.default_rng(0)
    if precision == "int8":
        w = rng.integers(-64, 64, (K, N), dtype=np.int8)
        node = helper.make_node("MatMulInteger", ["a", "w"], ["y"])
        a_t, y_t, inp = TensorProto.UINT8, TensorProto.INT32, rng.integers(0, 255, (M, K), dtype=np.uint8)
    else:
        w = rng.standard_normal((K, N)).astype(np.float32)
        node = helper.make_node("MatMul", ["a", "w"], ["y"])
        a_t, y_t, inp = TensorProto.FLOAT, TensorProto.FLOAT, rng.standard_normal((M, K)).astype(np.float32)
    graph = helper.make_graph([node], "gemm_peak", [helper.make_tensor_value_info("a", a_t, [M, K])],
                              [helper.make_tensor_value_info("y", y_t, [M, N])],
                              initializer=[numpy_helper.from_array(w, "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = min(model.ir_version, 9)
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    if threads:
        opts.intra_op_num_threads = int(threads)
    sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    return lambda: sess.run(None, {"a": inp})


# engines per precision: name -> builder(precision, M, K, N, threads)
GEMM_ENGINES: Dict[str, Dict[str, Callable]] = {
    "fp32": {"torch.mm (MKL)": lambda p, M, K, N, t: _torch_mm(p, M, K, N),
             "oneDNN (torch mkldnn_linear)": lambda p, M, K, N, t: _torch_onednn_linear(p, M, K, N),
             "OpenVINO": _openvino_mm,
             "ONNX Runtime (MLAS)": _onnxruntime_mm},
    "bf16": {"torch.mm bf16 (oneDNN)": lambda p, M, K, N, t: _torch_mm(p, M, K, N),
             "OpenVINO bf16": _openvino_mm},
    "int8": {"torch._int_mm (oneDNN s8s8s32)": lambda p, M, K, N, t: _torch_mm(p, M, K, N),
             "OpenVINO int8 (u8 x i8)": _openvino_mm,
             "ONNX Runtime MatMulInteger (u8 x s8)": _onnxruntime_mm},
}


def measure_gemm_peaks(precisions: Sequence[str] = PRECISIONS, threads: Optional[int] = None, size: int = 2048,
                       repeats: int = 5, engines: Optional[Dict[str, Dict[str, Callable]]] = None,
                       cpu: Optional[CpuInfo] = None) -> Dict[str, GemmPeak]:
    """Best-of-``repeats`` GFLOP/s (2 M N K per call) of a ``size``³ GEMM, per precision and engine.

    A precision the CPU has no instructions for (bf16 without AVX512-BF16/AMX, int8 without VNNI/AMX)
    is still measured where an engine runs it, and marked ``native=False``. An engine that cannot run
    here is skipped with a note. The peak of a precision is the best engine's figure.
    """
    import torch
    cpu = cpu or read_cpuinfo()
    engines = engines or GEMM_ENGINES
    M = K = N = int(size)
    flops = 2.0 * M * K * N
    old_threads = torch.get_num_threads()
    if threads:
        torch.set_num_threads(int(threads))
    out: Dict[str, GemmPeak] = {}
    try:
        for prec in precisions:
            if prec not in PRECISIONS:
                raise ValueError(f"precision {prec!r}: choose from {', '.join(PRECISIONS)}")
            native = {"fp32": True, "bf16": native_bf16(cpu.flags), "int8": native_int8(cpu.flags)}[prec]
            peak = GemmPeak(prec, native=native, shape=(M, K, N))
            if not native:
                peak.notes.append(f"no native {prec} instructions on this CPU: engines emulate or up-convert")
            for name, build in engines.get(prec, {}).items():
                try:
                    fn = build(prec, M, K, N, threads)
                    t = _best_time(fn, repeats)
                except Exception as e:  # an engine/precision this machine or build cannot run
                    msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
                    peak.notes.append(f"{name}: not measured ({type(e).__name__}: {msg[:160]})")
                    continue
                peak.by_engine[name] = flops / t / 1e9
                peak.isa[name] = getattr(fn, "isa", None)
            if peak.by_engine:
                peak.engine = max(peak.by_engine, key=peak.by_engine.get)
                peak.gflops = peak.by_engine[peak.engine]
            out[prec] = peak
    finally:
        torch.set_num_threads(old_threads)
    _torch_isas(out, cpu)
    return out


def _torch_isas(peaks: Dict[str, GemmPeak], cpu: CpuInfo) -> None:
    """Fill in the ISA the torch engines reported (a small GEMM under MKL / oneDNN verbose)."""
    for prec, peak in peaks.items():
        for name in list(peak.by_engine):
            if not name.startswith(("torch", "oneDNN")) or peak.isa.get(name):
                continue
            try:
                fn = (_torch_onednn_linear if name.startswith("oneDNN") else _torch_mm)(prec, 64, 64, 64)
            except Exception:
                continue
            tr = trace_torch_kernels(fn)
            labels = []
            if "mkl" in tr:
                labels.append(tr["mkl"]["isa"])
            if "onednn" in tr:
                kernels = tr["onednn"]["kernels"]
                labels += [isa_of_kernel(k, prec if prec != "fp32" else None, cpu.flags) for k in kernels]
            label = summarise_isa(labels)
            if label is None and "onednn" in tr and tr["onednn"]["isa"]:
                label = f"{tr['onednn']['isa']} (oneDNN's ceiling; kernel not named)"
            peak.isa[name] = label


def achieved_gflops(flops: float, ms: float) -> float:
    """Achieved rate of a call that does ``flops`` FLOPs in ``ms`` milliseconds:
    GFLOP/s = flops / (ms x 1e-3) / 1e9 (0 when ``ms`` <= 0)."""
    return flops / (ms * 1e-3) / 1e9 if ms > 0 else 0.0


def peak_gflops(peaks: Dict[str, object], precision: str) -> Optional[float]:
    """The measured GEMM peak (GFLOP/s) of ``precision`` in ``peaks`` (precision -> :class:`GemmPeak`
    or its JSON dict); None when that peak was not measured (absent, or no engine ran it)."""
    p = peaks.get(precision)
    if p is None:
        return None
    value = p.gflops if isinstance(p, GemmPeak) else p.get("gflops", 0.0)
    return float(value) if value and value > 0 else None


def percent_of_peak(gflops: float, peaks: Dict[str, object], precision: str) -> Optional[float]:
    """``gflops`` as a percentage of the GEMM peak of ``precision``: 100 x gflops / peak (GFLOP/s);
    None when that peak was not measured (see :func:`peak_gflops`)."""
    peak = peak_gflops(peaks, precision)
    return None if peak is None else 100.0 * gflops / peak


def format_peaks(peaks: Dict[str, GemmPeak]) -> str:
    lines = []
    for prec, p in peaks.items():
        shape = "x".join(str(s) for s in p.shape)
        head = (f"{prec:>5} peak {p.gflops:8.1f} GFLOP/s ({p.engine}, {shape}, best of N)" if p.engine
                else f"{prec:>5} peak   not measured")
        if not p.native:
            head += "  [not native on this CPU]"
        lines.append(head)
        for name, g in sorted(p.by_engine.items(), key=lambda kv: -kv[1]):
            isa = p.isa.get(name)
            lines.append(f"        {name:<40}{g:8.1f}" + (f"  ISA {isa}" if isa else "  ISA not reported"))
        lines += [f"        {n}" for n in p.notes]
    return "\n".join(lines)
