"""Which trackers are distilled students, same-resolution baselines, the teacher and the CPU peers.

Default rules (each overridable per tracker):

* **student**: the name starts with ``loretrack`` (a distilled LoReTrack);
* **peer**: the name starts with ``opencv-`` (OpenCV's trackers, such as ``opencv-nano``: what a user
  would otherwise run on a CPU; :mod:`loretrack_plugin.trackers.opencv_peers`);
* **reference**: the name starts with ``stem-xcorr-`` (the untrained correlation of a pretrained stem:
  what training on top of the stem adds is measured against it; :mod:`loretrack_plugin.trackers.stem_reference`);
* **teacher**: a name containing ``teacher``; otherwise the non-student with the largest input
  resolution (ties: the one without candidate elimination -- the LoReTrack teacher is OSTrack-384
  without CE -- then the first name);
* **baseline**: a non-student, non-teacher whose name starts with ``baseline`` or ``ostrack`` (or
  contains ``baseline``) and whose resolution equals a student's, or any name starting with ``baseline``;
* **other**: everything else.

Runs of one model with different seeds (``<base>@s<seed>``, see :mod:`.seeds`) share a family: the
rules read the names as they are (every run of ``loretrack-96@s<k>`` is a student), the teacher's
other runs are teachers too, and an override may name the base (``loretrack-96=baseline``) to set
every run of it. The static box (the floor) is never one of the compared trackers.
"""
from __future__ import annotations

from typing import Dict, Mapping, Optional

from .seeds import split_seed

ROLES = ("student", "baseline", "teacher", "reference", "peer", "other")
LABELS = {"student": "LoReTrack (distilled)", "baseline": "Baseline (same resolution)",
          "teacher": "Teacher", "reference": "Reference (untrained stem correlation)", "peer": "CPU peer (OpenCV)", "other": "Other", "floor": "Floor (first box kept)"}
#: the families in the order the report groups them (the floor last)
ORDER = ("teacher", "student", "baseline", "reference", "peer", "other", "floor")
PEER_PREFIX = "opencv-"
REFERENCE_PREFIX = "stem-xcorr-"


def parse_overrides(items) -> Dict[str, str]:
    """``["name=role", ...]`` or a mapping -> {name: role}; ValueError on an unknown role."""
    if not items:
        return {}
    pairs = items.items() if isinstance(items, Mapping) else (str(i).split("=", 1) for i in items)
    out = {}
    for pair in pairs:
        if len(pair) != 2 or not pair[0].strip():
            raise ValueError(f"family override {'='.join(pair)!r}: expected NAME=ROLE")
        name, role = pair[0].strip(), str(pair[1]).strip().lower()
        if role not in ROLES:
            raise ValueError(f"family override {name}={role}: role must be one of {', '.join(ROLES)}")
        out[name] = role
    return out


def assign_families(resolutions: Mapping[str, Optional[int]], uses_ce: Mapping[str, bool] = None,
                    overrides: Mapping[str, str] = None) -> Dict[str, str]:
    """{tracker: role} from names and search resolutions (None = unknown).

    Overrides are applied first and constrain the automatic rules: a tracker forced to ``teacher``
    suppresses the automatic teacher choice.
    """
    uses_ce = uses_ce or {}
    overrides = dict(overrides or {})
    for key in [k for k in overrides if k not in resolutions]:  # a base name sets all its seeded runs
        runs = [n for n in resolutions if split_seed(n)[0] == key and n != key]
        given = overrides.pop(key) if runs else None
        for n in runs:
            overrides.setdefault(n, given)
    unknown = sorted(set(overrides) - set(resolutions))
    if unknown:
        raise ValueError(f"family override for unknown tracker(s) {', '.join(unknown)} "
                         f"(trackers: {', '.join(sorted(resolutions))})")
    role: Dict[str, str] = {}
    for name in resolutions:
        if name in overrides:
            role[name] = overrides[name]
        elif name.lower().startswith("loretrack"):
            role[name] = "student"
        elif name.lower().startswith(PEER_PREFIX):
            role[name] = "peer"
        elif name.lower().startswith(REFERENCE_PREFIX):
            role[name] = "reference"
    if "teacher" not in role.values():
        named = [n for n in resolutions if n not in role and "teacher" in n.lower()]
        if named:
            role[named[0]] = "teacher"
        else:
            cands = [n for n in resolutions if n not in role and resolutions[n] is not None]
            if cands:
                best = max(cands, key=lambda n: (resolutions[n], not uses_ce.get(n, False), -cands.index(n)))
                role[best] = "teacher"
    teachers = {split_seed(n)[0] for n, r in role.items() if r == "teacher"}
    for name in resolutions:  # the other seeds of the teacher
        if name not in role and split_seed(name)[0] in teachers:
            role[name] = "teacher"
    student_res = {resolutions[n] for n, r in role.items() if r == "student" and resolutions[n] is not None}
    for name in resolutions:
        if name in role:
            continue
        low = name.lower()
        same_res = resolutions[name] is not None and resolutions[name] in student_res
        if low.startswith("baseline") or (same_res and (low.startswith("ostrack") or "baseline" in low)):
            role[name] = "baseline"
        else:
            role[name] = "other"
    return role
