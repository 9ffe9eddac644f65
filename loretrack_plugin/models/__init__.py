from .head import CenterHead, decode_peak
from .net import TrackerNet, build_net
from .vit import OneStreamViT, resize_pos_embed

__all__ = ["CenterHead", "decode_peak", "TrackerNet", "build_net", "OneStreamViT", "resize_pos_embed"]
