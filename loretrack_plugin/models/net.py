"""The OSTrack/LoReTrack network: one-stream ViT + center head (docs/method.md §1)."""
from __future__ import annotations

from typing import Dict, Optional, Sequence

import torch
import torch.nn as nn

from ..config import NetConfig, make_config
from .head import CenterHead, decode_peak
from .vit import OneStreamViT


class TrackerNet(nn.Module):
    """``net(template, search)`` -> dict with

    * ``score_map`` (B,1,F,F), ``size_map`` (B,2,F,F), ``offset_map`` (B,2,F,F),
    * ``pred_boxes`` (B,1,4): normalised (cx, cy, w, h) at the peak of the predicted score map.

    Distillation asks for more (the default path computes none of it):

    * ``qkv_blocks=[i, ...]`` adds ``out["qkv"][i] = (q, k, v)``, each (B, heads, Nz+Nx, head_dim),
      before the 1/sqrt(d) scaling;
    * ``return_features=True`` adds ``out["search_feat"]`` (B, C, F, F), the final normalised search
      tokens as a map (the head's input, ``opt_feat`` in the official code).
    """

    def __init__(self, cfg: NetConfig):
        super().__init__()
        self.cfg = cfg
        self.backbone = OneStreamViT(cfg)
        self.box_head = CenterHead(cfg.head_in_channels, cfg.head_channels)

    def forward(self, template: torch.Tensor, search: torch.Tensor, qkv_blocks: Sequence[int] = (),
                return_features: bool = False, ce_keep_ratio: Optional[float] = None) -> Dict[str, torch.Tensor]:
        tokens, qkvs, corr = self.backbone(template, search, qkv_blocks=qkv_blocks, ce_keep_ratio=ce_keep_ratio)
        feat = self.search_map(tokens)
        score, size, offset = self.box_head(feat if corr is None else torch.cat([feat, corr], dim=1))
        out = {"score_map": score, "size_map": size, "offset_map": offset,
               "pred_boxes": decode_peak(score, size, offset).unsqueeze(1)}
        if qkv_blocks:
            out["qkv"] = qkvs
        if return_features:
            out["search_feat"] = feat
        return out

    def search_map(self, tokens: torch.Tensor) -> torch.Tensor:
        """Last Nx tokens (B, Nx, C) -> (B, C, F, F), row-major (token = row * F + col)."""
        F_ = self.cfg.feat_size
        x = tokens[:, -self.cfg.num_search_tokens:]
        return x.transpose(1, 2).reshape(x.shape[0], x.shape[2], F_, F_)

    def search_tokens_map(self, t: torch.Tensor) -> torch.Tensor:
        """q/k/v (B, H, Nz+Nx, d) -> search part as a channel map (B, H*d, F, F), channel = head*d + j."""
        B, H, N, d = t.shape
        F_ = self.cfg.feat_size
        s = t[:, :, N - self.cfg.num_search_tokens:]  # (B,H,Nx,d)
        return s.permute(0, 1, 3, 2).reshape(B, H * d, F_, F_)


def build_net(search_size: int = 256, template_size: Optional[int] = None, *, embed_dim: int = 768,
              depth: int = 12, num_heads: int = 12, mlp_ratio: float = 4.0, head_channels: int = 256,
              drop_path_rate: float = 0.0, ce_loc: Sequence[int] = (), ce_keep_ratio: float = 0.7,
              pretrain_img_size: int = 224, patch_embed: str = "linear", head_input: str = "tokens",
              stem_zoom: int = 1, config: Optional[NetConfig] = None) -> TrackerNet:
    """Build the tracker network in eval mode (ViT-B/16 + center head by default).

    ``template_size`` defaults to ``search_size // 2``. Pass ``config`` to build from a
    :class:`NetConfig` instead of keywords. Weights are randomly initialised (timm ViT init for the
    backbone, xavier for the head; a convolutional stem ``patch_embed`` gets its pretrained weights,
    see :func:`~loretrack_plugin.checkpoint.load_pretrained_stem`); see :func:`loretrack_plugin.load_checkpoint`.
    """
    if config is None:
        config = make_config(search_size, template_size, embed_dim=embed_dim, depth=depth, num_heads=num_heads,
                             mlp_ratio=mlp_ratio, head_channels=head_channels, drop_path_rate=drop_path_rate,
                             ce_loc=tuple(ce_loc), ce_keep_ratio=ce_keep_ratio,
                             pretrain_img_size=pretrain_img_size, patch_embed=patch_embed,
                             head_input=head_input, stem_zoom=stem_zoom)
    return TrackerNet(config).eval()
