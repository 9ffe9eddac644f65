"""Runs of one model trained with different seeds, and what their spread allows a report to say.

Naming convention: a tracker named ``<base>@s<seed>`` (``loretrack-96@s0``, ``baseline-96@s1``; the
names ``loretrack demo`` gives) is run ``seed`` of model ``base``; ``<base>-seed<seed>`` is read the
same way. Trackers with the same base form one group; a name without such a suffix is a group of
one (or, when it equals the base of seeded runs, one more run of that group, without a seed).

Numbers of a group: the mean and the sample standard deviation (n - 1) of its runs' scores; with
one run the standard deviation is unknown (None), never 0.

The gain of a student group over a baseline group is the difference of their means. Its spread is
the standard deviation of a one-seed difference:

* **paired** -- both groups have the same seeds (two or more): seed k's student and baseline share
  their training samples, so the spread is the sample standard deviation of the per-seed
  differences student@k - baseline@k (the gain is then also their mean);
* **unpaired** -- otherwise, with two or more runs on each side: sqrt(std_student^2 + std_baseline^2);
* with a single run on either side no spread is known.

A gain whose size is not above twice its spread is "within noise"; only a larger one is a result.
"""
from __future__ import annotations

import math
import re
import statistics
from typing import Dict, List, Optional, Sequence, Tuple

SEED_RE = re.compile(r"^(?P<base>.+?)(?:@s|-seed)(?P<seed>\d+)$")
#: a gain counts when |gain| > NOISE_FACTOR x its spread
NOISE_FACTOR = 2.0
SINGLE_RUN = "single run: no spread is known"
WITHIN_NOISE = "within noise"
REAL = "real"


def split_seed(name: str) -> Tuple[str, Optional[int]]:
    """``"loretrack-96@s3"`` -> ``("loretrack-96", 3)``; a name without a seed suffix -> ``(name, None)``."""
    m = SEED_RE.match(name)
    return (m.group("base"), int(m.group("seed"))) if m else (name, None)


def group_runs(names: Sequence[str]) -> Dict[str, List[str]]:
    """{base: [run names in the given order]}, bases in order of first appearance."""
    out: Dict[str, List[str]] = {}
    for n in names:
        out.setdefault(split_seed(n)[0], []).append(n)
    return out


def mean_std(values: Sequence[float]) -> Tuple[float, Optional[float]]:
    """Mean and sample standard deviation (n - 1; None for a single value)."""
    values = [float(v) for v in values]
    if not values:
        raise ValueError("no values")
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else None)


def verdict(gain: float, spread: Optional[float]) -> str:
    """:data:`SINGLE_RUN` without a spread, :data:`WITHIN_NOISE` when |gain| <= 2 spreads, else :data:`REAL`."""
    if spread is None:
        return SINGLE_RUN
    return REAL if abs(gain) > NOISE_FACTOR * spread else WITHIN_NOISE


def gain_with_spread(student: Dict[str, float], baseline: Dict[str, float]) -> dict:
    """The gain of the ``student`` runs over the ``baseline`` runs ({run name: score}), as described above.

    Returns ``gain``, ``spread`` (None when unknown), ``spread_kind`` (``paired``, ``unpaired`` or None),
    ``pairs`` (the seeds paired) and ``verdict``.
    """
    s_mean, s_std = mean_std(list(student.values()))
    b_mean, b_std = mean_std(list(baseline.values()))
    s_seeds = {split_seed(n)[1]: v for n, v in student.items()}
    b_seeds = {split_seed(n)[1]: v for n, v in baseline.items()}
    paired = (None not in s_seeds and None not in b_seeds and len(s_seeds) == len(student)
              and len(b_seeds) == len(baseline) and set(s_seeds) == set(b_seeds) and len(s_seeds) > 1)
    if paired:
        seeds = sorted(s_seeds)
        gain, spread = mean_std([s_seeds[k] - b_seeds[k] for k in seeds])
        kind = "paired"
    else:
        seeds = []
        gain = s_mean - b_mean
        spread = math.hypot(s_std, b_std) if s_std is not None and b_std is not None else None
        kind = "unpaired" if spread is not None else None
    return {"gain": gain, "spread": spread, "spread_kind": kind, "pairs": seeds, "verdict": verdict(gain, spread)}
