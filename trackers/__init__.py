"""Named trackers (one small YAML file each) and the toolkit adapters (got10k, VOT/TraX).

Installed as ``loretrack_plugin.trackers``. A tracker file looks like::

    name: loretrack-128            # defaults to the file name without .yaml
    description: ...
    network:                       # NetConfig fields; omit the section when the checkpoint
      search_size: 128             # embeds its config (files written by save_checkpoint)
      template_size: 64
    search_factor: 5.0
    template_factor: 2.0
    checkpoint: loretrack-128/OSTrack_ep0300.pth.tar
    backend: auto                  # auto | eager | openvino | onnxruntime | onednn | bf16
    threads: null                  # optional
    max_size_change: null          # optional: a factor k > 1 limits each frame's width/height change
                                   # to [1/k, k] (off = the official loop; the demo trackers use it)
    max_frame_side: null           # optional: frames larger than this (longer side, px) are tracked
                                   # scaled down to it (off = the official loop)
    size_lr: null                  # optional: a fraction in (0, 1]: width and height move only that
                                   # fraction of the way to the decoded size (off = the official loop)

Checkpoint paths: absolute paths (``~`` and ``$VARS`` expanded) are used as they are; paths starting
with ``./`` or ``../`` are relative to the YAML file's folder; any other relative path is relative
to ``$LORETRACK_WEIGHTS`` (default ``~/.cache/loretrack/weights``).

Where trackers are found, first match wins: the folders in ``$LORETRACK_TRACKERS``
(``os.pathsep``-separated), then this package's folder. ``get_spec`` also accepts a path to a YAML file.

The OpenCV trackers are named trackers too, with reserved names and no file: ``opencv-nano``
(NanoTrack v2, its ONNX files shipped in ``weights/opencv/``), ``opencv-mil``, and ``opencv-csrt`` /
``opencv-kcf`` where the installed OpenCV is the contrib build (:mod:`.opencv_peers`, docs/peers.md).
The untrained correlation of a pretrained stem is one too, the reference row under every trained
model: ``stem-xcorr-nanotrack-v3``, ``stem-xcorr-mobilenetv2`` (:mod:`.stem_reference`).

The registry code lives in :mod:`.registry`; the toolkit adapters in :mod:`.got10k_adapter` (got10k)
and :mod:`.vot_trax` (VOT/TraX).
"""
from .opencv_peers import PEERS, OpenCVPeer, PeerSpec
from .registry import (DEFAULT_WEIGHTS_DIR, PACKAGE_DIR, RESERVED, TrackerSpec, build_got10k_tracker, get_spec, is_peer,
                       list_trackers, load_spec, load_tracker_net, make_tracker, search_dirs, weights_dir,
                       write_tracker_file)
from .stem_reference import REFERENCES, ReferenceSpec, StemReference

__all__ = ["TrackerSpec", "get_spec", "load_spec", "list_trackers", "make_tracker", "build_got10k_tracker",
           "PEERS", "PeerSpec", "OpenCVPeer", "is_peer", "RESERVED", "REFERENCES", "ReferenceSpec", "StemReference", "load_tracker_net", "write_tracker_file", "weights_dir", "search_dirs", "PACKAGE_DIR", "DEFAULT_WEIGHTS_DIR"]
