"""The registry of named trackers: tracker files (one small YAML each), where they are found, and
building a tracker, its network or its got10k adapter from one. Re-exported by
:mod:`loretrack_plugin.trackers`; see that package's docstring for the file format and search order.

The OpenCV peers (``opencv-nano``, ``opencv-mil``, ``opencv-csrt``, ``opencv-kcf``) are named trackers
too, with reserved names and no file (:mod:`.opencv_peers`): ``get_spec`` gives their
:class:`~.opencv_peers.PeerSpec`, ``make_tracker`` their :class:`~.opencv_peers.OpenCVPeer`. So are the
untrained stem correlations (``stem-xcorr-nanotrack-v3``, ``stem-xcorr-mobilenetv2``;
:mod:`.stem_reference`). Both kinds are "peers" here: trackers without a LoReTrack network
(:func:`is_peer`).
"""
from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field, replace
from typing import Dict, List, Optional, Union

import yaml

from ..config import ConfigError, NetConfig, make_config
from ..utils.files import read_yaml
from .opencv_peers import PEERS, PeerSpec, make_peer
from .opencv_peers import is_peer as is_opencv_peer
from .stem_reference import REFERENCES, ReferenceSpec, is_reference, make_reference

#: every reserved tracker name that has no tracker file: OpenCV's trackers and the stem references
RESERVED = {**PEERS, **REFERENCES}


def is_peer(name_or_spec) -> bool:
    """A tracker without a LoReTrack network (an OpenCV peer or an untrained stem reference): built by
    :func:`make_tracker`, it has TrackerCore's interface and a ``describe()`` record."""
    return is_opencv_peer(name_or_spec) or is_reference(name_or_spec)

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
DEFAULT_WEIGHTS_DIR = os.path.join("~", ".cache", "loretrack", "weights")
_KEYS = {"name", "description", "network", "search_factor", "template_factor", "checkpoint", "backend", "threads",
         "max_size_change", "max_frame_side", "size_lr"}


@dataclass(frozen=True)
class TrackerSpec:
    """A named tracker: network architecture, crop factors, default weights and inference backend.

    ``network`` is None when it is to be read from the checkpoint; ``checkpoint`` is a resolved path
    (it may not exist) or None.
    """
    name: str
    network: Optional[NetConfig]
    search_factor: float
    template_factor: float
    checkpoint: Optional[str] = None
    backend: str = "auto"
    threads: Optional[int] = None
    max_size_change: Optional[float] = None
    max_frame_side: Optional[int] = None
    size_lr: Optional[float] = None
    description: str = ""
    source: Optional[str] = field(default=None, compare=False)

    def replace(self, **kw) -> "TrackerSpec":
        return replace(self, **kw)

    @property
    def loop(self) -> Dict[str, object]:
        """The tracking-loop options of :class:`loretrack_plugin.tracking.TrackerCore` (None = official)."""
        from ..tracking.core import LOOP_OPTIONS
        return {k: getattr(self, k) for k in LOOP_OPTIONS}


def weights_dir() -> str:
    """Folder of the default checkpoints: ``$LORETRACK_WEIGHTS`` or ``~/.cache/loretrack/weights``."""
    return os.path.abspath(os.path.expanduser(os.environ.get("LORETRACK_WEIGHTS") or DEFAULT_WEIGHTS_DIR))


def search_dirs() -> List[str]:
    """Folders searched for tracker files, in order of precedence."""
    env = os.environ.get("LORETRACK_TRACKERS", "")
    dirs = [os.path.abspath(os.path.expanduser(d)) for d in env.split(os.pathsep) if d.strip()]
    return dirs + [PACKAGE_DIR]


def _resolve_checkpoint(value: str, yaml_dir: str) -> str:
    p = os.path.expanduser(os.path.expandvars(value))
    if os.path.isabs(p):
        return os.path.normpath(p)
    if p.startswith(("./", "../", "." + os.sep, ".." + os.sep)):
        return os.path.normpath(os.path.join(yaml_dir, p))
    return os.path.normpath(os.path.join(weights_dir(), p))


def _number(d: dict, key: str, path: str) -> float:
    v = d.get(key)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0:
        raise ValueError(f"{path}: '{key}' must be a positive number, got {v!r}")
    return float(v)


def load_spec(path: Union[str, os.PathLike]) -> TrackerSpec:
    """Read one tracker file; every problem is a ValueError naming the file."""
    path = os.path.abspath(os.fspath(path))
    d = read_yaml(path, "tracker file")
    if not isinstance(d, dict):
        raise ValueError(f"{path}: expected a mapping of tracker settings, got {type(d).__name__}")
    unknown = sorted(set(d) - _KEYS)
    if unknown:
        raise ValueError(f"{path}: unknown keys {unknown} (allowed: {sorted(_KEYS)})")
    name = d.get("name") or os.path.splitext(os.path.basename(path))[0]
    if not isinstance(name, str):
        raise ValueError(f"{path}: 'name' must be a string")
    net = d.get("network")
    if net is None:
        network = None
    elif isinstance(net, dict):
        try:
            net = dict(net)
            if "ce_loc" in net and net["ce_loc"] is not None:
                net["ce_loc"] = tuple(net["ce_loc"])
            network = make_config(**net)
        except (ConfigError, TypeError) as e:
            raise ValueError(f"{path}: bad 'network' section: {e}") from None
    else:
        raise ValueError(f"{path}: 'network' must be a mapping of network settings")
    ckpt = d.get("checkpoint")
    if ckpt is not None and not isinstance(ckpt, str):
        raise ValueError(f"{path}: 'checkpoint' must be a path string")
    backend = d.get("backend") or "auto"
    from ..tracking.backends import check_tracker_backend
    try:
        backend = check_tracker_backend(backend)
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None
    threads = d.get("threads")
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise ValueError(f"{path}: 'threads' must be a positive integer or null, got {threads!r}")
    from ..tracking.core import MIN_FRAME_SIDE, valid_frame_side, valid_size_limit, valid_size_lr
    limit = d.get("max_size_change")
    if not valid_size_limit(limit):
        raise ValueError(f"{path}: 'max_size_change' must be a number > 1 or null, got {limit!r}")
    side = d.get("max_frame_side")
    if not valid_frame_side(side):
        raise ValueError(f"{path}: 'max_frame_side' must be an integer >= {MIN_FRAME_SIDE} or null, got {side!r}")
    size_lr = d.get("size_lr")
    if not valid_size_lr(size_lr):
        raise ValueError(f"{path}: 'size_lr' must be a number in (0, 1] or null, got {size_lr!r}")
    return TrackerSpec(name=name, network=network, search_factor=_number(d, "search_factor", path),
                       template_factor=_number(d, "template_factor", path),
                       checkpoint=_resolve_checkpoint(ckpt, os.path.dirname(path)) if ckpt else None,
                       backend=backend, threads=threads, max_size_change=None if limit is None else float(limit),
                       max_frame_side=side, size_lr=None if size_lr is None else float(size_lr),
                       description=str(d.get("description") or ""), source=path)


def _registry() -> Dict[str, str]:
    """name -> file, earlier folders taking precedence."""
    found: Dict[str, str] = {}
    for d in search_dirs():
        for path in sorted(glob.glob(os.path.join(d, "*.yaml")) + glob.glob(os.path.join(d, "*.yml"))):
            stem = os.path.splitext(os.path.basename(path))[0]
            try:
                with open(path) as f:
                    data = yaml.safe_load(f)
                name = data.get("name") if isinstance(data, dict) and isinstance(data.get("name"), str) else stem
            except (OSError, yaml.YAMLError):
                name = stem  # broken files still show up; loading them reports the problem
            found.setdefault(name, path)
    return found


def list_trackers() -> List[str]:
    """Names of all tracker files found and of the reserved trackers (OpenCV peers, stem references), sorted."""
    return sorted(set(_registry()) | set(RESERVED))


def get_spec(name_or_path: Union[str, os.PathLike, TrackerSpec, PeerSpec, ReferenceSpec]
             ) -> Union[TrackerSpec, PeerSpec, ReferenceSpec]:
    """The :class:`TrackerSpec` of a named tracker or a tracker YAML file, the spec of a reserved tracker
    (:class:`~.opencv_peers.PeerSpec`, :class:`~.stem_reference.ReferenceSpec`), or a spec (returned as is)."""
    if isinstance(name_or_path, (TrackerSpec, PeerSpec, ReferenceSpec)):
        return name_or_path
    s = os.fspath(name_or_path)
    if s in RESERVED:  # reserved names: no tracker file can take them
        return RESERVED[s]
    if s.endswith((".yaml", ".yml")) or os.sep in s or os.path.isfile(s):
        return load_spec(s)
    reg = _registry()
    if s not in reg:
        raise ValueError(f"unknown tracker {s!r}: known trackers are {', '.join(sorted(set(reg) | set(RESERVED)))} "
                         "(or give a path to a tracker .yaml file)")
    return load_spec(reg[s])


def write_tracker_file(path: str, name: str, checkpoint: str, search_factor: float, template_factor: float,
                       description: str = "", backend: str = "auto", threads: Optional[int] = None,
                       relative: bool = False, header: str = "", max_size_change: Optional[float] = None,
                       max_frame_side: Optional[int] = None, size_lr: Optional[float] = None) -> str:
    """Write a tracker file (atomically) for ``checkpoint``; ``relative=True`` stores the checkpoint as
    ``./<path relative to the file's folder>`` (for files that travel with their weights). The loop
    options are written only when set (None is the official loop)."""
    from ..utils.files import write_text
    ckpt = os.path.abspath(checkpoint)
    if relative:
        ckpt = "./" + os.path.relpath(ckpt, os.path.dirname(os.path.abspath(path)))
    doc = {"name": name, "description": description, "search_factor": float(search_factor),
           "template_factor": float(template_factor), "checkpoint": ckpt, "backend": backend}
    if threads:
        doc["threads"] = int(threads)
    if max_size_change is not None:
        doc["max_size_change"] = float(max_size_change)
    if max_frame_side is not None:
        doc["max_frame_side"] = int(max_frame_side)
    if size_lr is not None:
        doc["size_lr"] = float(size_lr)
    write_text(path, header + yaml.safe_dump(doc, sort_keys=False))
    return path


def load_tracker_net(spec: TrackerSpec, checkpoint: Optional[str] = None):
    """The network of ``spec`` with weights from ``checkpoint`` (default: the spec's), in eval mode."""
    from .. import build_net, build_net_from_checkpoint, load_checkpoint
    if is_peer(spec):
        raise ValueError(f"tracker {spec.name!r} is not a LoReTrack network: it has none to load")
    ckpt = checkpoint if checkpoint is not None else spec.checkpoint
    if ckpt is None:
        raise ValueError(f"tracker {spec.name!r} has no default checkpoint: pass one (checkpoint= / --checkpoint)")
    ckpt = os.path.abspath(os.path.expanduser(os.fspath(ckpt)))
    if not os.path.isfile(ckpt):
        raise FileNotFoundError(f"checkpoint for tracker {spec.name!r} not found: {ckpt}"
                                + ("" if checkpoint is not None else
                                   " (put the file there, set LORETRACK_WEIGHTS, or pass a checkpoint)"))
    if spec.network is None:
        return build_net_from_checkpoint(ckpt)
    net = build_net(config=spec.network)
    load_checkpoint(net, ckpt)
    return net


def make_tracker(name_or_spec, checkpoint: Optional[str] = None, backend: Optional[str] = None,
                 threads: Optional[int] = None, net=None):
    """Build a :class:`loretrack_plugin.tracking.TrackerCore` for a named tracker (an
    :class:`~.opencv_peers.OpenCVPeer` for an OpenCV peer, which has the same interface).

    ``checkpoint`` overrides the spec's weights; ``net`` (an in-memory TrackerNet) skips loading
    altogether (its config then defines the crop sizes). ``backend``/``threads`` override the spec's.
    """
    from ..tracking.core import TrackerCore
    spec = get_spec(name_or_spec)
    if is_peer(spec):
        if net is not None:
            raise ValueError(f"tracker {spec.name!r} is not a LoReTrack network: it takes no network")
        make = make_reference if is_reference(spec) else make_peer
        return make(spec, checkpoint=checkpoint, backend=backend, threads=threads)
    if net is None:
        net = load_tracker_net(spec, checkpoint)
    return TrackerCore(net, spec.search_factor, spec.template_factor,
                       backend=backend if backend not in (None, "") else spec.backend,
                       threads=threads if threads is not None else spec.threads, name=spec.name, **spec.loop)


def build_got10k_tracker(name_or_spec, checkpoint: Optional[str] = None, backend: Optional[str] = None,
                         threads: Optional[int] = None, net=None):
    """A ``got10k.trackers.Tracker`` running a named tracker (``.name`` = the tracker's name)."""
    from .got10k_adapter import GOT10kTracker
    return GOT10kTracker(name_or_spec, checkpoint=checkpoint, backend=backend, threads=threads, net=net)


__all__ = ["TrackerSpec", "get_spec", "load_spec", "list_trackers", "make_tracker", "build_got10k_tracker",
           "load_tracker_net", "write_tracker_file",
           "weights_dir", "search_dirs"]
