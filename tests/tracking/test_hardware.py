"""CPU detection, ISA strings reported by the engines, GEMM peaks and % of peak (functional, never timed)."""
import pytest
import torch

from loretrack_plugin.tracking import hardware as H
from loretrack_plugin.tracking.backend_comparison import (Timing, format_timings, forward_flops,
                                                          step_time_with_reruns, timing_record)

ZEN4 = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 17
model name\t: AMD EPYC 9R14 96-Core Processor
flags\t\t: fpu sse sse2 avx avx2 fma avx512f avx512dq avx512bw avx512vl avx512_bf16 avx512_vnni avx512vbmi

processor\t: 1
vendor_id\t: AuthenticAMD
model name\t: ignored second entry
"""
SAPPHIRE_RAPIDS = ("vendor_id : GenuineIntel\ncpu family : 6\nmodel : 143\n"
                   "model name : Intel(R) Xeon(R) Platinum 8488C\n"
                   "flags : sse avx avx2 avx_vnni avx512f avx512_vnni avx512_bf16 avx512_fp16 amx_bf16 amx_tile "
                   "amx_int8\n")
HASWELL = "vendor_id : GenuineIntel\nmodel name : Intel(R) Xeon(R) CPU E5-2680 v3\nflags : sse avx avx2 fma\n"


def test_cpuinfo_parsing_and_native_precisions():
    zen4 = H.read_cpuinfo(ZEN4)
    assert zen4.model_name == "AMD EPYC 9R14 96-Core Processor" and zen4.family == "25" and zen4.model == "17"
    assert zen4.isa == ["AVX2", "AVX-512", "AVX512_VNNI", "AVX512_BF16"]
    assert H.native_bf16(zen4.flags) and H.native_int8(zen4.flags)
    spr = H.read_cpuinfo(SAPPHIRE_RAPIDS)
    assert spr.isa == ["AVX2", "AVX_VNNI", "AVX-512", "AVX512_VNNI", "AVX512_BF16", "AVX512_FP16", "AMX-BF16",
                       "AMX-INT8"]
    old = H.read_cpuinfo(HASWELL)
    assert old.isa == ["AVX2"] and not H.native_bf16(old.flags) and not H.native_int8(old.flags)
    d = old.as_dict()
    assert d["model_name"].startswith("Intel(R) Xeon(R) CPU E5") and d["native_bf16"] is False
    assert "AMD EPYC 9R14" in H.cpu_summary(zen4) and "AVX512_BF16" in H.cpu_summary(zen4)
    # this machine: whatever it is, the summary names the model
    assert H.read_cpuinfo().model_name in H.cpu_summary()


@pytest.mark.parametrize("name,prec,flags,want", [
    ("brgemm_avx512_amx", "bf16", (), "AMX-BF16"),           # OpenVINO primitiveType
    ("brgemm_avx512_amx_I8", None, (), "AMX-INT8"),
    ("brgemm_avx512_bf16", "bf16", (), "AVX512_BF16"),
    ("brgemm_avx512_I8", "u8", ("avx512_vnni",), "AVX512_VNNI"),
    ("brgemm_avx512_I8", "u8", (), "AVX-512"),               # without VNNI the name says only AVX-512
    ("jit_avx2_I8", None, ("avx_vnni",), "AVX_VNNI"),
    ("jit_avx2", None, (), "AVX2"),
    ("gemm_mlas_f32", "f32", (), None),                       # MLAS does not say
    ("brgemm_avx512_f32", "i8", ("avx512_vnni",), "AVX-512"),  # int8 weights decompressed: f32 kernel
    ("matmul:brg_matmul:avx512_core_bf16", None, (), "AVX512_BF16"),   # oneDNN implementation names
    ("inner_product:brg_matmul:avx512_core", None, (), "AVX-512"),
    ("matmul:brg_matmul:avx512_core_amx", "bf16", (), "AMX-BF16"),
    ("gemm_api:gemm_api", "int8", (), None),
])
def test_isa_of_kernel(name, prec, flags, want):
    assert H.isa_of_kernel(name, prec, flags) == want


ONEDNN_LOG = """onednn_verbose,v1,info,oneDNN v3.12.0 (commit 80afa71049cd69a3df32adcccb623b12cd7baa22)
onednn_verbose,v1,info,cpu,runtime:OpenMP,nthr:2
onednn_verbose,v1,info,cpu,isa:Intel AVX-512 with Intel DL Boost and bfloat16 support
onednn_verbose,v1,primitive,info,template:operation,engine,primitive,implementation,prop_kind,memory_descriptors
onednn_verbose,v1,primitive,exec,cpu,matmul,brg_matmul:avx512_core_bf16,undef,src:bf16::blocked:ab::f0,,64x64:64x64,3.1
onednn_verbose,v1,primitive,exec,cpu,reorder,jit_direct_copy:uni,undef,src:f32::blocked:ab::f0,,64x64,0.2
onednn_verbose,v1,primitive,exec,cpu,matmul,brg_matmul:avx512_core_bf16,undef,src:bf16::blocked:ab::f0,,64x64:64x64,1.1
onednn_verbose,v1,primitive,exec,cpu,inner_product,brg_matmul:avx512_core,forward_training,src:f32,,mb64ic64oc64,0.8
"""


def test_parse_onednn_verbose():
    got = H.parse_onednn_verbose(ONEDNN_LOG)
    assert got["isa"] == "AVX512_BF16" and got["isa_text"].startswith("Intel AVX-512 with Intel DL Boost")
    assert got["kernels"] == {"matmul:brg_matmul:avx512_core_bf16": 2, "inner_product:brg_matmul:avx512_core": 1}
    amx = ("onednn_verbose,v1,info,cpu,isa:Intel AVX-512 with float16, Intel DL Boost and bfloat16 support and "
           "Intel AMX with bfloat16 and 8-bit integer support")
    assert H.parse_onednn_isa(amx) == "AMX-BF16"
    assert H.parse_onednn_isa("isa:Intel AVX-512 with Intel DL Boost") == "AVX512_VNNI"
    assert H.parse_onednn_isa("isa:Intel AVX2 with Intel DL Boost") == "AVX_VNNI"
    assert H.parse_onednn_isa("isa:Intel AVX2") == "AVX2"
    assert H.parse_onednn_verbose("no verbose here") == {"isa": None, "isa_text": None, "kernels": {}}


def test_parse_mkl_verbose():
    amd = ("MKL_VERBOSE oneMKL 2024.0 Update 2 Product build 20240605 for Intel(R) 64 architecture Intel(R) "
           "Architecture processors, Lnx 2.60GHz lp64 gnu_thread\n"
           "MKL_VERBOSE SGEMM(N,N,64,64,64,0x7ffc,0x55d9,64,0x55d9,64,0x7ffc,0x55d9,64) 736.89ms CNR:OFF Dyn:1\n"
           "MKL_VERBOSE SGEMM(N,N,64,64,64,0x7ffc,0x55d9,64,0x55d9,64,0x7ffc,0x55d9,64) 0.10ms CNR:OFF Dyn:1\n")
    got = H.parse_mkl_verbose(amd)
    assert got["isa"] is None and got["calls"] == {"SGEMM": 2} and "Architecture processors" in got["header"]
    spr = ("MKL_VERBOSE oneMKL 2024.0 Product build 20240605 for Intel(R) 64 architecture Intel(R) Advanced Vector "
           "Extensions 512 (Intel(R) AVX-512) with support for INT8, BF16, FP16 (limited) instructions, and Intel(R) "
           "Advanced Matrix Extensions (Intel(R) AMX) with INT8 and BF16, Lnx 2.00GHz lp64 gnu_thread")
    assert H.parse_mkl_verbose(spr)["isa"] == "AMX"
    skx = ("MKL_VERBOSE Intel(R) MKL 2020.0 Product build 20191122 for Intel(R) 64 architecture Intel(R) Advanced "
           "Vector Extensions 512 (Intel(R) AVX-512) enabled processors, Lnx 2.50GHz lp64 intel_thread")
    assert H.parse_mkl_verbose(skx)["isa"] == "AVX-512"
    hsw = "MKL_VERBOSE Intel(R) MKL 2020.0 for Intel(R) Advanced Vector Extensions 2 (Intel(R) AVX2) enabled processors"
    assert H.parse_mkl_verbose(hsw)["isa"] == "AVX2"


def test_summarise_isa_orders_and_drops_none():
    assert H.summarise_isa([None, "AVX2", "AVX512_BF16", "AVX2"]) == "AVX512_BF16+AVX2"
    assert H.summarise_isa([None]) is None


def test_trace_torch_kernels_reports_the_aten_capability():
    a = torch.randn(32, 32)
    tr = H.trace_torch_kernels(lambda: torch.nn.functional.linear(a, a))
    assert tr["aten"] == str(torch.backends.cpu.get_cpu_capability())
    assert "mkl" in tr or "onednn" in tr or "error" in tr  # some GEMM library ran (or verbose is unavailable)


def test_gemm_peaks_positive_with_the_right_keys():
    peaks = H.measure_gemm_peaks(threads=1, size=64, repeats=1)
    assert list(peaks) == ["fp32", "bf16", "int8"]
    for prec, p in peaks.items():
        d = p.as_dict()
        assert set(d) == {"precision", "gflops", "engine", "by_engine", "native", "isa", "notes", "shape_mkn"}
        assert d["precision"] == prec and d["shape_mkn"] == [64, 64, 64]
        assert all(g > 0 for g in p.by_engine.values())
        if p.by_engine:
            assert p.gflops == max(p.by_engine.values()) and p.by_engine[p.engine] == p.gflops
    assert peaks["fp32"].gflops > 0 and "torch.mm (MKL)" in peaks["fp32"].by_engine
    cpu = H.read_cpuinfo()
    assert peaks["bf16"].native == H.native_bf16(cpu.flags) and peaks["int8"].native == H.native_int8(cpu.flags)
    assert peaks["int8"].gflops > 0  # at least one engine runs int8 GEMMs on any x86 CPU
    with pytest.raises(ValueError, match="precision 'fp16'"):
        H.measure_gemm_peaks(["fp16"], size=16)


def test_gemm_peak_engine_failure_is_a_note():
    def broken(p, M, K, N, t):
        raise RuntimeError("no such kernel")

    peaks = H.measure_gemm_peaks(["fp32"], size=16, repeats=1, engines={"fp32": {"broken": broken}})
    assert peaks["fp32"].gflops == 0 and peaks["fp32"].engine is None
    assert peaks["fp32"].notes == ["broken: not measured (RuntimeError: no such kernel)"]
    assert H.percent_of_peak(10.0, peaks, "fp32") is None


def test_percent_of_peak_uses_the_backend_precision():
    peaks = {"fp32": H.GemmPeak("fp32", gflops=100.0), "bf16": H.GemmPeak("bf16", gflops=400.0),
             "int8": {"gflops": 800.0}}
    assert H.percent_of_peak(50.0, peaks, "fp32") == pytest.approx(50.0)
    assert H.percent_of_peak(50.0, peaks, "bf16") == pytest.approx(12.5)
    assert H.percent_of_peak(50.0, peaks, "int8") == pytest.approx(6.25)   # a JSON dict works too
    rows = [Timing("eager", "eager", 20.0, 18.0, [0.02], [0.018], precision="fp32"),
            Timing("bf16", "bf16", 10.0, 9.0, [0.01], [0.009], precision="bf16"),
            Timing("int8", "int8-ort", 5.0, 4.0, [0.005], [0.004], precision="int8")]
    flops = 1e9  # 1 GFLOP per forward: 20 ms -> 50 GFLOP/s
    recs = {r.backend: timing_record(r, flops, peaks) for r in rows}
    assert recs["eager"]["step_gflops"] == pytest.approx(50.0)
    assert recs["eager"]["step_percent_of_peak"] == pytest.approx(50.0)
    assert recs["bf16"]["step_gflops"] == pytest.approx(100.0)
    assert recs["bf16"]["step_percent_of_peak"] == pytest.approx(25.0)
    assert recs["int8"]["step_percent_of_peak"] == pytest.approx(25.0)
    assert recs["int8"]["forward_percent_of_peak"] == pytest.approx(100 * 250 / 800)
    table = format_timings(rows, flops=flops, peaks=peaks)
    assert "% of peak" in table and "50.0 %" in table and "25.0 %" in table and "int8(int8-ort)" in table
    assert "n/a" in format_timings(rows, flops=flops, peaks={})


def test_step_time_counts_guard_reruns():
    steps = [0.010] * 9 + [0.030]
    # one re-run in ten frames: a plain median (10 ms) hides it, the weighted step does not
    assert step_time_with_reruns(steps, [False] * 9 + [True]) == pytest.approx(0.012)
    assert step_time_with_reruns(steps, [False] * 10) == pytest.approx(0.010)
    with pytest.raises(ValueError):
        step_time_with_reruns(steps, [False])
    # a reduced-precision path: 6 plain 10 ms steps, 2 rechecked in fp32 (20 ms), 2 by eager (40 ms)
    kinds = [None] * 6 + ["exact"] * 2 + ["eager"] * 2
    assert step_time_with_reruns([0.01] * 6 + [0.02] * 2 + [0.04] * 2, kinds) == pytest.approx(0.018)


def test_forward_flops_counts_thop_and_attention():
    from loretrack_plugin import build_net
    from tests.conftest import tiny_net_kwargs
    net = build_net(64, 32, **tiny_net_kwargs())
    f = forward_flops(net)
    assert f["flops"] == pytest.approx(2 * (f["macs_thop"] + f["macs_attn_matmul"]))
    assert f["macs_attn_matmul"] > 0 and f["macs_thop"] > f["macs_attn_matmul"]
