"""The untrained correlation of a pretrained stem as named trackers: the reference row under every
trained model (what training on top of the stem adds).

Reserved names, resolved before any tracker file, like the OpenCV peers (:mod:`.opencv_peers`):

* ``stem-xcorr-nanotrack-v3``: NanoTrack v3's MobileNetV3 stem, the one the miniature recipe builds on;
* ``stem-xcorr-mobilenetv2``: MobileNetV2's ImageNet ``features[:14]``;
* ``stem-xcorr-nanotrack-v3-half``: the NanoTrack stem on 63/127 px crops, half the pixel density, that
  of a 128/64 px student: what the stem's features alone carry at the student's resolution;
* ``stem-xcorr-nanotrack-v3-half-zoom2``: the same 63/127 px crops up-sampled 2x before the stem and its
  map pooled back (a network's ``stem_zoom: 2``): the student's pixels at the stem's trained scale.

Each runs :class:`loretrack_plugin.tracking.stem_xcorr.StemCorrelationTracker` (SiamFC's recipe on the
stem's features, no training) with the stem weights that ship with the package; ``threads`` sets
PyTorch's threads. They go wherever a named tracker goes (``loretrack eval``, the got10k adapter, the
TraX server, ``loretrack bench --peers``).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Dict, Optional

from ..tracking.stem_xcorr import StemCorrelationTracker

FAMILY = "Reference"
PREFIX = "stem-xcorr-"


@dataclass(frozen=True)
class ReferenceSpec:
    """An untrained stem-correlation tracker; answers what is asked of a
    :class:`~loretrack_plugin.trackers.TrackerSpec` (no network, factors or loop options)."""
    name: str
    stem: str
    description: str
    threads: Optional[int] = None
    exemplar: int = 127
    instance: int = 255
    zoom: int = 1
    checkpoint = None
    deterministic = True
    network = None
    search_factor = None
    template_factor = None
    source = None
    backend = "torch"
    has_model_file = False

    @property
    def loop(self) -> Dict[str, object]:
        return {}

    def replace(self, **kw) -> "ReferenceSpec":
        return dataclasses.replace(self, **kw)


REFERENCES: Dict[str, ReferenceSpec] = {s.name: s for s in (
    ReferenceSpec(PREFIX + "nanotrack-v3", "nanotrack-v3",
                  "untrained cross-correlation of NanoTrack v3's MobileNetV3 stem (SiamFC recipe, 127/255 px)"),
    ReferenceSpec(PREFIX + "mobilenetv2", "mobilenetv2",
                  "untrained cross-correlation of MobileNetV2 ImageNet features[:14] (SiamFC recipe, 127/255 px)"),
    ReferenceSpec(PREFIX + "nanotrack-v3-half", "nanotrack-v3",
                  "untrained cross-correlation of NanoTrack v3's MobileNetV3 stem at half scale (SiamFC recipe, "
                  "63/127 px: a 128/64 px student's pixel density)", exemplar=63, instance=127),
    ReferenceSpec(PREFIX + "nanotrack-v3-half-zoom2", "nanotrack-v3",
                  "untrained cross-correlation of NanoTrack v3's MobileNetV3 stem on 63/127 px crops up-sampled 2x "
                  "before the stem, its map pooled back (SiamFC recipe; a stem_zoom 2 student's view)",
                  exemplar=63, instance=127, zoom=2),
)}


def is_reference(name) -> bool:
    return isinstance(name, ReferenceSpec) or (isinstance(name, str) and name in REFERENCES)


class StemReference(StemCorrelationTracker):
    """:class:`StemCorrelationTracker` with the name and the record of a named tracker."""

    def __init__(self, spec: ReferenceSpec, threads: Optional[int] = None):
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
            raise ValueError(f"threads: expected a positive integer or None, got {threads!r}")
        super().__init__(spec.stem, threads=threads if threads is not None else spec.threads,
                         exemplar=spec.exemplar, instance=spec.instance, zoom=spec.zoom)
        self.spec, self.name = spec, spec.name

    @property
    def backend_name(self) -> str:
        return "torch eager (stem features, no training)"

    def describe(self) -> Dict[str, object]:
        """What ``tracker_info.json`` and the bench record about it."""
        import torch
        return {"family": FAMILY, "reference_stem": self.spec.stem, "crops": [self.exemplar, self.instance],
                "zoom": self.zoom,
                "threads_requested": self.threads,
                "torch_threads": torch.get_num_threads()}


def make_reference(name_or_spec, checkpoint: Optional[str] = None, backend: Optional[str] = None,
                   threads: Optional[int] = None) -> StemReference:
    spec = name_or_spec if isinstance(name_or_spec, ReferenceSpec) else REFERENCES[name_or_spec]
    if checkpoint is not None:
        raise ValueError(f"tracker {spec.name!r} runs the shipped stem weights untrained: it takes no checkpoint, "
                         f"got {checkpoint}")
    if backend not in (None, "", "auto", "eager", ReferenceSpec.backend):
        raise ValueError(f"tracker {spec.name!r} runs in PyTorch eager: backend {backend!r} does not apply to it")
    return StemReference(spec, threads=threads)


__all__ = ["REFERENCES", "ReferenceSpec", "StemReference", "is_reference", "make_reference", "PREFIX", "FAMILY"]
