"""On-disk formats every part of the package reads: frames, box and flag files, OTB-layout folders,
and the official sequence lists of the benchmarks.

* :mod:`.images` -- :func:`read_rgb` (the one image reader), :class:`CorruptImageError`, :func:`to_rgb_uint8`;
* :mod:`.boxes` -- :func:`read_boxes` (the one box-file reader), :func:`read_flags`;
* :mod:`.otb` -- OTB-layout sequence folders, with one policy for frame/box mismatches, and
  :func:`list_frames`, the one frame-order rule for every folder of frames;
* :mod:`.sequence_names` -- LaSOT / OTB sequence names as the toolkits list them.

Training readers (:mod:`loretrack_plugin.data.readers`), benchmark readers
(:mod:`loretrack_plugin.evaluation.benchmark_readers`), the trackers' tools and the synthetic data
writer (:mod:`loretrack_plugin.synthetic`) all import them from here. Nothing here imports torch.
"""
from .boxes import read_boxes, read_flags
from .images import IMAGE_EXTS, CorruptImageError, image_size, read_rgb, to_rgb_uint8
from .otb import (OtbSequence, find_otb_sequences, frame_files, list_frames, list_otb_sequences, load_otb_sequence,
                  order_frames)

__all__ = ["read_boxes", "read_flags", "IMAGE_EXTS", "CorruptImageError", "image_size", "read_rgb", "to_rgb_uint8",
           "OtbSequence", "find_otb_sequences", "frame_files", "list_frames", "list_otb_sequences", "load_otb_sequence",
           "order_frames"]
