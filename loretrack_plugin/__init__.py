"""LoReTrack: low-resolution OSTrack-style tracking distilled from a high-resolution teacher.

Public API::

    from loretrack_plugin import build_net, load_checkpoint
    net = build_net(search_size=128, template_size=64)
    load_checkpoint(net, "OSTrack_ep0300.pth.tar")
    out = net(template, search)
"""
from .checkpoint import CheckpointError, build_net_from_checkpoint, load_checkpoint, save_checkpoint
from .config import ConfigError, NetConfig, make_config
from .models import TrackerNet, build_net, decode_peak
from .version import __version__

__all__ = ["build_net", "load_checkpoint", "save_checkpoint", "build_net_from_checkpoint", "NetConfig",
           "make_config", "TrackerNet", "decode_peak", "CheckpointError", "ConfigError", "__version__"]
