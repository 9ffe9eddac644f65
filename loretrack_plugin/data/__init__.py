"""Training data: dataset readers, the causal pair sampler, STARK-style processing and labels."""
from .readers import (READERS, Coco, CorruptImageError, Got10k, Lasot, OtbFolder, SequenceInfo, TrackingDataset,
                       TrackingNet, build_dataset, read_boxes, read_rgb)
from .labels import gaussian_heatmap, gaussian_radius
from .processing import CropSpec, PairProcessing
from .sampler import PairSampler, SamplingError, ShardedBatches, collate

__all__ = ["READERS", "Coco", "CorruptImageError", "Got10k", "Lasot", "OtbFolder", "SequenceInfo", "TrackingDataset",
           "TrackingNet", "build_dataset", "read_boxes", "read_rgb", "gaussian_heatmap", "gaussian_radius", "CropSpec",
           "PairProcessing", "PairSampler", "SamplingError", "ShardedBatches", "collate"]
