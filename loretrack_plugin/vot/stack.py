"""Experiment stacks for the VOT toolkit: a local stack for synthetic/offline workspaces, and toolkit stacks
with their crashing ``multistart`` experiments swapped for :class:`loretrack_plugin.vot.multistart.MultiStart`.

A stack is a mapping ``{title, [dataset], experiments: {name: {type, analyses: [...]}, ...}}`` written as
YAML into the workspace (``stack: ./stack.yaml`` in ``config.yaml``). Nothing here imports the toolkit
except :func:`toolkit_stack_file`, so stacks can be written from an environment without it.

EAO (``multistart_eao_score``) is the mean of the expected-average-overlap curve Φ over fragment lengths
``low..high-1``:  EAO = mean_{low <= n < high} Φ(n),  Φ(n) = average over anchored runs of the mean overlap of
frames 1..n (failed runs padded with zeros). VOT2020–2022 use ``low = 115, high = 755`` for sequences of
hundreds of frames; a short synthetic dataset needs an interval inside its own lengths (:func:`eao_interval`).
"""
from __future__ import annotations

import copy
from typing import Dict, Iterable, Optional, Tuple

import yaml

from ..utils.files import read_yaml, write_text

# The experiment class as seen by a toolkit that can import this package, and as a standalone module
# copied into the workspace for a toolkit living in another environment (see workspace.install_experiment_module).
PACKAGE_EXPERIMENT = "loretrack_plugin.vot.multistart.MultiStart"
STANDALONE_MODULE = "loretrack_multistart"
STANDALONE_EXPERIMENT = STANDALONE_MODULE + ".MultiStart"

# toolkit experiment types that crash on vot-toolkit 0.8.x / 0.9.0 and are replaced
BROKEN_MULTISTART = {"multistart", "vot.experiment.multistart.MultiStartExperiment",
                     "vot.experiment.MultiStartExperiment"}


def eao_interval(lengths: Iterable[int]) -> Tuple[int, int]:
    """``(low, high)`` for sequences of the given lengths: ``high`` = the longest sequence, ``low`` = a quarter
    of the shortest one (at least 1), so the interval covers fragment lengths the data actually has."""
    lengths = [int(n) for n in lengths]
    if not lengths or min(lengths) < 2:
        raise ValueError(f"EAO interval: need sequences of at least 2 frames, got lengths {lengths}")
    return max(1, min(lengths) // 4), max(lengths)


def local_stack(experiment_type: str, eao_low: int, eao_high: int,
                title: str = "LoReTrack local stack (multistart EAO + unsupervised accuracy)") -> Dict:
    """The stack for an offline workspace.

    * ``baseline``: multistart (anchors from ``anchor.value``) with EAO score/curve and A/R
      (VOT2020–2022 short-term protocol);
    * ``unsupervised``: one run per sequence from frame 0 with average accuracy and a success plot.
    """
    if not 1 <= int(eao_low) < int(eao_high):
        raise ValueError(f"EAO interval: need 1 <= low < high, got low={eao_low}, high={eao_high}")
    return {
        "title": title,
        "experiments": {
            "baseline": {
                "type": experiment_type,
                "analyses": [
                    {"type": "multistart_eao_score", "name": "eaoscore", "low": int(eao_low), "high": int(eao_high)},
                    {"type": "multistart_eao_curve", "name": "eaocurve", "high": int(eao_high)},
                    {"type": "multistart_average_ar", "name": "ar"},
                ],
            },
            "unsupervised": {
                "type": "unsupervised",
                "repetitions": 1,
                "analyses": [
                    {"type": "average_accuracy", "name": "accuracy", "burnin": 1},
                    {"type": "average_success_plot", "name": "success", "burnin": 1},
                ],
            },
        },
    }


def patch_stack(stack: Dict, experiment_type: str) -> Tuple[Dict, int]:
    """A copy of ``stack`` with every ``multistart`` experiment typed ``experiment_type``; (stack, count)."""
    if not isinstance(stack, dict) or not isinstance(stack.get("experiments"), dict):
        raise ValueError("stack: expected a mapping with an 'experiments' mapping")
    out = copy.deepcopy(stack)
    count = 0
    for name, exp in out["experiments"].items():
        if isinstance(exp, dict) and exp.get("type") in BROKEN_MULTISTART:
            exp["type"] = experiment_type
            count += 1
    return out, count


def read_stack(path: str) -> Dict:
    """Read a stack YAML file (ValueError naming the file if it is not a stack)."""
    stack = read_yaml(path, "stack file")
    if not isinstance(stack, dict) or not isinstance(stack.get("experiments"), dict):
        raise ValueError(f"{path}: not a VOT stack (no 'experiments' mapping)")
    return stack


def toolkit_stack_file(name: str) -> Optional[str]:
    """Path of a stack that ships with the toolkit (``vot2022/shorttermbox``...), None if there is none.

    Needs ``vot`` importable in this interpreter; raises ValueError saying so otherwise.
    """
    try:
        from vot.stack import resolve_stack
    except Exception as e:  # noqa: BLE001 - ImportError, or the attributee TypeError on Python >= 3.11
        raise ValueError(f"stack {name!r}: vot-toolkit is not importable here ({type(e).__name__}: {e}); "
                         "pass the stack's .yaml file instead, or run vot-setup with the toolkit's Python") from None
    return resolve_stack(name)


def write_stack(path: str, stack: Dict) -> None:
    """Write ``stack`` as YAML, atomically."""
    write_text(path, yaml.safe_dump(stack, sort_keys=False, default_flow_style=False))
