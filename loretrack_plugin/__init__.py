"""LoReTrack: low-resolution OSTrack-style tracking distilled from a high-resolution teacher.

Public API::

    from loretrack_plugin import build_net, load_checkpoint
    net = build_net(search_size=128, template_size=64)
    load_checkpoint(net, "OSTrack_ep0300.pth.tar")
    out = net(template, search)

Names are imported lazily (PEP 562), so light submodules such as ``loretrack_plugin.vot.multistart``
(imported by the VOT toolkit for every command) do not pay for importing torch and timm.
"""
import importlib

from .version import __version__

_EXPORTS = {
    "build_net": "models.net", "TrackerNet": "models.net", "decode_peak": "models.head",
    "load_checkpoint": "checkpoint", "save_checkpoint": "checkpoint", "build_net_from_checkpoint": "checkpoint",
    "CheckpointError": "checkpoint", "NetConfig": "config", "make_config": "config", "ConfigError": "config",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return __all__
