"""GMACs and parameters of each tracker's network, from the profiler (docs/method.md §6.6).

``gmacs_thop`` / ``params_thop_m`` are counted the way the papers did (thop: Linear, Conv, BN);
``gmacs_attn`` adds the two attention matmuls; ``params_m`` counts every parameter.
Each distinct network config is profiled once (random weights, one batch-1 forward).
"""
from __future__ import annotations

import dataclasses
import json
import logging
from typing import Dict, List, Mapping, Optional

from tqdm import tqdm

log = logging.getLogger(__name__)

COMPUTE_KEYS = ("gmacs_thop", "gmacs_attn", "params_m", "params_thop_m")


def _config(network: dict):
    from ..config import NetConfig
    known = {f.name for f in dataclasses.fields(NetConfig)}
    # metrics files may carry derived sizes (feat_size, ...) beside the fields
    d = {k: v for k, v in network.items() if k in known}
    if d.get("ce_loc") is not None:
        d["ce_loc"] = tuple(d["ce_loc"])
    return NetConfig(**d)


def profile_networks(networks: Mapping[str, Optional[dict]], progress: bool = True,
                     warnings: Optional[List[str]] = None) -> Dict[str, Dict[str, Optional[float]]]:
    """{tracker: {gmacs_thop, gmacs_attn, params_m, params_thop_m}} (None where unknown).

    A tracker without a config, or with one the network cannot be built from, gets Nones and a
    warning (appended to ``warnings``) instead of failing the report.
    """
    out: Dict[str, Dict[str, Optional[float]]] = {n: dict.fromkeys(COMPUTE_KEYS) for n in networks}
    by_cfg: Dict[str, list] = {}
    for name, net in networks.items():
        if net:
            by_cfg.setdefault(json.dumps(net, sort_keys=True, default=str), []).append(name)
    if not by_cfg:
        return out
    from ..profiling import profile_config
    for key, names in tqdm(list(by_cfg.items()), desc="profiling networks", unit="net", disable=not progress):
        try:
            prof = profile_config(_config(json.loads(key)), latency=False)
        except (TypeError, ValueError) as e:
            msg = f"{', '.join(names)}: cannot profile the network config ({e}): GMACs/params unknown"
            log.warning("%s", msg)
            if warnings is not None:
                warnings.append(msg)
            continue
        for n in names:
            out[n] = {k: float(prof[k]) for k in COMPUTE_KEYS}
    return out
