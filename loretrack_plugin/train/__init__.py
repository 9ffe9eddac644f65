"""Training and LoReTrack distillation: losses, actors, the trainer loop, configs.

Python API::

    from loretrack_plugin.train import train, distill
    teacher = train("loretrack_plugin/recipes/mini/teacher.yaml")          # -> {'checkpoint': ..., ...}
    student = distill("loretrack_plugin/recipes/mini/student.yaml", teacher["checkpoint"])
"""
from .actor import DistillActor, TrackingActor
from .config import DEFAULTS, ConfigError, load_config
from .losses import (BoxL1Loss, ChannelKL, DiscDistillLoss, FocalLoss, GIoULoss, QKVDistillLoss, box_iou_giou,
                     resolve_blocks)
from .trainer import NonFiniteLossError, Trainer, build_teacher, distill, train

__all__ = ["DistillActor", "TrackingActor", "DEFAULTS", "ConfigError", "load_config", "BoxL1Loss", "ChannelKL",
           "DiscDistillLoss", "FocalLoss", "GIoULoss", "QKVDistillLoss", "box_iou_giou", "resolve_blocks",
           "NonFiniteLossError", "Trainer", "build_teacher", "distill", "train"]
