"""Parameters, MACs and CPU latency of the tracker network (docs/method.md §6.6).

MACs are counted like ``thop`` (the tool the papers used): per call of a Linear layer
``in_features x output elements``, of a Conv ``(in/groups) x kh x kw x output elements`` (bias not
counted), of an eval-mode BatchNorm ``2 x elements``. LayerNorm, activations and the two attention
matmuls (q k^T and attn v, ``2 N^2 C`` per block) are invisible to thop; the second figure adds the
matmuls. This reproduces the published 4.1 / 7.3 / 16.3 / 29.0 / 65.3 G (96 ... 384).
"""
from __future__ import annotations

import statistics
import time
from typing import Dict, Iterable, List, Optional

import torch
import torch.nn as nn

from .config import NetConfig, make_config
from .models.net import TrackerNet
from .models.vit import Attention

_COUNTED = (nn.Linear, nn.Conv2d, nn.BatchNorm2d)
_PARAM_MODULES = (nn.Linear, nn.Conv2d, nn.BatchNorm2d, nn.LayerNorm)


def _module_macs(m: nn.Module, inp: torch.Tensor, out: torch.Tensor) -> int:
    if isinstance(m, nn.Linear):
        return m.in_features * out.numel()
    if isinstance(m, nn.Conv2d):
        kh, kw = m.kernel_size
        return (m.in_channels // m.groups) * kh * kw * out.numel()
    return 2 * inp.numel()


@torch.no_grad()
def count_macs(net: TrackerNet) -> Dict[str, float]:
    """One batch-1 forward with hooks: {'macs_thop', 'macs_attn_matmul'} in MACs (not G)."""
    cfg = net.cfg
    totals = {"thop": 0, "attn": 0}
    hooks = []

    def leaf_hook(m, inputs, output):
        totals["thop"] += _module_macs(m, inputs[0], output)

    def attn_hook(m, inputs, output):
        B, N, C = inputs[0].shape
        totals["attn"] += 2 * B * N * N * C

    for m in net.modules():
        if isinstance(m, _COUNTED):
            hooks.append(m.register_forward_hook(leaf_hook))
        elif isinstance(m, Attention):
            hooks.append(m.register_forward_hook(attn_hook))
    try:
        was_training = net.training
        net.eval()
        p = next(net.parameters())
        net(torch.zeros(1, 3, cfg.template_size, cfg.template_size, dtype=p.dtype, device=p.device),
            torch.zeros(1, 3, cfg.search_size, cfg.search_size, dtype=p.dtype, device=p.device))
        net.train(was_training)
    finally:
        for h in hooks:
            h.remove()
    return {"macs_thop": float(totals["thop"]), "macs_attn_matmul": float(totals["attn"])}


def count_params(net: nn.Module) -> Dict[str, float]:
    """All parameters, and thop's count (parameters of Linear/Conv/BN/LayerNorm modules only)."""
    total = sum(p.numel() for p in net.parameters())
    thop = sum(p.numel() for m in net.modules() if isinstance(m, _PARAM_MODULES) for p in m.parameters(recurse=False))
    return {"params": float(total), "params_thop": float(thop)}


@torch.inference_mode()
def measure_latency(net: TrackerNet, repeats: int = 20, warmup: int = 3, threads: Optional[int] = None) -> float:
    """Median forward time in ms (batch 1, random input, inference mode)."""
    if threads:
        torch.set_num_threads(threads)
    cfg = net.cfg
    z = torch.randn(1, 3, cfg.template_size, cfg.template_size)
    x = torch.randn(1, 3, cfg.search_size, cfg.search_size)
    net.eval()
    for _ in range(warmup):
        net(z, x)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        net(z, x)
        times.append(time.perf_counter() - t0)
    return 1000.0 * statistics.median(times)


def profile_config(cfg: NetConfig, latency: bool = False, repeats: int = 20) -> Dict[str, float]:
    """Profile the network described by ``cfg`` (random weights).

    Returns params_m, params_thop_m, gmacs_thop, gmacs_attn (thop + attention matmuls) and, with
    ``latency=True``, latency_ms (median CPU forward).
    """
    net = TrackerNet(cfg).eval()
    macs = count_macs(net)
    params = count_params(net)
    out = {"search_size": cfg.search_size, "template_size": cfg.template_size,
           "params_m": params["params"] / 1e6, "params_thop_m": params["params_thop"] / 1e6,
           "gmacs_thop": macs["macs_thop"] / 1e9,
           "gmacs_attn": (macs["macs_thop"] + macs["macs_attn_matmul"]) / 1e9}
    if latency:
        out["latency_ms"] = measure_latency(net, repeats=repeats)
    return out


def profile_resolutions(resolutions: Iterable[int], latency: bool = True, repeats: int = 20,
                        **net_kw) -> List[Dict[str, float]]:
    return [profile_config(make_config(int(r), **net_kw), latency=latency, repeats=repeats) for r in resolutions]


def format_table(rows: List[Dict[str, float]]) -> str:
    has_lat = any("latency_ms" in r for r in rows)
    head = f"{'search/template':>16} {'params (M)':>11} {'params thop (M)':>16} {'GMACs thop':>11} {'GMACs +attn':>12}"
    if has_lat:
        head += f" {'latency (ms)':>13}"
    lines = [head, "-" * len(head)]
    for r in rows:
        s = (f"{str(r['search_size']) + '/' + str(r['template_size']):>16} {r['params_m']:>11.2f} "
             f"{r['params_thop_m']:>16.2f} {r['gmacs_thop']:>11.1f} {r['gmacs_attn']:>12.1f}")
        if has_lat:
            s += f" {r.get('latency_ms', float('nan')):>13.1f}"
        lines.append(s)
    return "\n".join(lines)
