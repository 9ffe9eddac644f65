"""Official sequence lists that the toolkits look up by name (LaSOT, LaSOT extension, OTB)."""
from __future__ import annotations

import json
import os
from functools import lru_cache
from typing import Dict, List

#: The 15 classes of the LaSOT extension subset (TPAMI 2021), 10 sequences each (``atv-1`` ... ``atv-10``).
LASOT_EXT_CLASSES = ("atv", "badminton", "cosplay", "dancingshoe", "footbag", "frisbee", "jianzi", "lantern",
                     "misc", "opossum", "paddle", "raccoon", "rhino", "skatingshoe", "wingsuit")

#: OTB sequences whose frame lists got10k trims, or that carry several ground-truth files.
OTB_SPECIAL = ("David", "Football1", "Freeman3", "Freeman4", "Diving", "Jogging", "Skating2", "Human4")


@lru_cache(maxsize=None)
def lasot_splits() -> Dict[str, List[str]]:
    """``{'train': [1120 names], 'test': [280 names]}`` from the list bundled with got10k."""
    import got10k.datasets
    path = os.path.join(os.path.dirname(got10k.datasets.__file__), "lasot.json")
    with open(path) as f:
        return json.load(f)


def lasot_names(split: str = "test") -> List[str]:
    """Sequence names of a LaSOT split: ``test`` (280), ``train`` (1120) or ``ext`` (150, extension)."""
    if split == "ext":
        return [f"{c}-{k}" for c in LASOT_EXT_CLASSES for k in range(1, 11)]
    if split not in ("train", "test"):
        raise ValueError(f"unknown LaSOT split {split!r} (expected 'train', 'test' or 'ext')")
    return list(lasot_splits()[split])


def lasot_class(name: str) -> str:
    """``airplane-13`` -> ``airplane``."""
    return name[:name.rfind("-")]


def spread_over_classes(names: List[str]) -> List[str]:
    """Reorder so that consecutive names come from different classes (first of each class, then second...)."""
    by_class: Dict[str, List[str]] = {}
    for n in names:
        by_class.setdefault(lasot_class(n), []).append(n)
    out, k = [], 0
    while len(out) < len(names):
        out += [v[k] for v in by_class.values() if k < len(v)]
        k += 1
    return out


def otb_names(version=2015) -> List[str]:
    """The sequence names got10k's OTB class picks up for ``version`` (2013, 2015, 'tb50', 'tb100'...)."""
    from got10k.datasets import OTB
    return list(getattr(OTB, "_OTB__version_dict")[version])


def otb_plain_names() -> List[str]:
    """OTB-2015 names that got10k neither trims nor splits into several targets (safe for fakes)."""
    return [n for n in sorted(otb_names(2015)) if n not in OTB_SPECIAL]
