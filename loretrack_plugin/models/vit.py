"""One-stream ViT backbone of OSTrack/LoReTrack (docs/method.md §1.1–1.5).

Template and search crops share one patch embedding, get separate learned position tables
(``pos_embed_z`` / ``pos_embed_x``), are concatenated template-first and go through pre-norm blocks
with joint self-attention. timm supplies the parts (PatchEmbed, Mlp, DropPath, init); what timm lacks
is written here: an attention that can hand out its q/k/v, and candidate elimination (CE).
"""
from __future__ import annotations

import math
from functools import partial
from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from timm.layers import DropPath, Mlp, PatchEmbed, trunc_normal_

from ..config import PATCH, NetConfig
from .stems import ConvStem, pixelwise_correlation

LayerNorm = partial(nn.LayerNorm, eps=1e-6)


class Attention(nn.Module):
    """Multi-head self-attention with the official parameter names (``qkv``, ``proj``).

    The default path is fused (``scaled_dot_product_attention``). ``need_qkv`` additionally returns
    q, k, v before the 1/sqrt(d) scaling, each (B, heads, N, head_dim); ``need_attn`` computes the
    attention matrix explicitly (CE needs it) and returns it as (B, heads, N, N).
    """

    def __init__(self, dim: int, num_heads: int):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.scale = self.head_dim ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=True)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, need_qkv: bool = False, need_attn: bool = False):
        B, N, C = x.shape
        # rows of the qkv weight are [q; k; v], each head-major: (B,N,3,H,d) -> (3,B,H,N,d)
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        attn = None
        if need_attn:
            attn = ((q * self.scale) @ k.transpose(-2, -1)).softmax(dim=-1)
            out = attn @ v
        else:
            out = F.scaled_dot_product_attention(q, k, v)
        out = self.proj(out.transpose(1, 2).reshape(B, N, C))
        return out, ((q, k, v) if need_qkv else None), attn


class Block(nn.Module):
    """Pre-norm transformer block: x + DropPath(Attn(LN1 x)), then x + DropPath(MLP(LN2 x))."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float = 4.0, drop_path: float = 0.0):
        super().__init__()
        self.norm1 = LayerNorm(dim)
        self.attn = Attention(dim, num_heads)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        self.norm2 = LayerNorm(dim)
        self.mlp = Mlp(in_features=dim, hidden_features=int(dim * mlp_ratio), act_layer=nn.GELU)

    def forward(self, x: torch.Tensor, need_qkv: bool = False, need_attn: bool = False):
        a, qkv, attn = self.attn(self.norm1(x), need_qkv=need_qkv, need_attn=need_attn)
        x = x + self.drop_path(a)
        return x, qkv, attn

    def forward_mlp(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.drop_path(self.mlp(self.norm2(x)))


def eliminate_candidates(attn: torch.Tensor, tokens: torch.Tensor, num_template: int, keep_ratio: float,
                         search_index: torch.Tensor, template_rows: Optional[torch.Tensor]):
    """Candidate elimination (docs/method.md §1.5): keep the search tokens the template attends to most.

    Score of a search token = attention from the selected template query rows (``template_rows``, a
    bool mask over template tokens; None = all rows), averaged over rows and heads. The top
    ``ceil(keep_ratio * Ns)`` search tokens survive, in descending score order.

    Returns (tokens, kept global indices, removed global indices or None).
    """
    num_search = attn.shape[-1] - num_template
    keep = math.ceil(keep_ratio * num_search)
    if keep >= num_search:
        return tokens, search_index, None
    t2s = attn[:, :, :num_template, num_template:]  # (B,H,Nz,Ns)
    if template_rows is not None:
        t2s = t2s[:, :, template_rows]
    score = t2s.mean(dim=2).mean(dim=1)  # (B,Ns)
    order = torch.sort(score, dim=1, descending=True).indices
    keep_idx, drop_idx = order[:, :keep], order[:, keep:]
    B, _, C = tokens.shape
    kept = tokens[:, num_template:].gather(1, keep_idx.unsqueeze(-1).expand(B, keep, C))
    tokens = torch.cat([tokens[:, :num_template], kept], dim=1)
    return tokens, search_index.gather(1, keep_idx), search_index.gather(1, drop_idx)


def ce_template_center(template_grid: int) -> torch.Tensor:
    """CE_TEMPLATE_RANGE = CTR_POINT: a mask selecting the single centre template token.

    The official code supports grids 7, 8, 12 and 14, where the centre is ((g-1)//2, (g-1)//2);
    the same rule is used for any grid.
    """
    m = torch.zeros(template_grid, template_grid, dtype=torch.bool)
    c = (template_grid - 1) // 2
    m[c, c] = True
    return m.flatten()


class OneStreamViT(nn.Module):
    """ViT backbone over [template tokens; search tokens] (template first)."""

    def __init__(self, cfg: NetConfig):
        super().__init__()
        self.cfg = cfg
        C = cfg.embed_dim
        # registration order = the official state_dict order (docs/method.md §2.2)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, C))  # unused in forward; kept for key parity
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + cfg.pretrain_grid ** 2, C))  # unused ImageNet table
        self.pos_embed_z = nn.Parameter(torch.zeros(1, cfg.num_template_tokens, C))
        self.pos_embed_x = nn.Parameter(torch.zeros(1, cfg.num_search_tokens, C))
        if cfg.patch_embed == "linear":
            self.patch_embed = PatchEmbed(img_size=None, patch_size=PATCH, in_chans=3, embed_dim=C)
        else:
            self.patch_embed = ConvStem(cfg.patch_embed, C, zoom=cfg.stem_zoom)
        dpr = torch.linspace(0, cfg.drop_path_rate, cfg.depth).tolist()
        self.blocks = nn.ModuleList(Block(C, cfg.num_heads, cfg.mlp_ratio, dpr[i]) for i in range(cfg.depth))
        self.norm = LayerNorm(C)
        self.ce_blocks = frozenset(cfg.ce_loc)
        self.register_buffer("ce_template_rows", ce_template_center(cfg.template_feat_size), persistent=False)
        self._init_weights()

    def _init_weights(self):
        trunc_normal_(self.pos_embed, std=0.02)
        trunc_normal_(self.cls_token, std=0.02)
        # a convolutional stem keeps PyTorch's own init (its trained weights are loaded over it)
        stem = set(self.patch_embed.stem.modules()) if isinstance(self.patch_embed, ConvStem) else set()
        for m in self.modules():
            if m in stem:
                continue
            if isinstance(m, nn.Linear):
                trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        with torch.no_grad():
            self.reset_search_template_pos_embed()

    @torch.no_grad()
    def reset_search_template_pos_embed(self):
        """Derive pos_embed_x / pos_embed_z from the ImageNet table (docs/method.md §1.3)."""
        self.pos_embed_x.copy_(resize_pos_embed(self.pos_embed[:, 1:], self.cfg.feat_size))
        self.pos_embed_z.copy_(resize_pos_embed(self.pos_embed[:, 1:], self.cfg.template_feat_size))

    def forward(self, z: torch.Tensor, x: torch.Tensor, qkv_blocks: Sequence[int] = (),
                ce_keep_ratio: Optional[float] = None) -> Tuple[torch.Tensor, Dict[int, tuple], Optional[torch.Tensor]]:
        """Returns (normalised tokens (B, Nz+Nx, C) in raster order, {block index: (q, k, v)}, correlation).

        ``qkv_blocks``: blocks whose q/k/v to return (over all Nz+Nx tokens; empty = fused only).
        ``ce_keep_ratio``: overrides the CE keep ratio (training schedule); None = config value.
        correlation: under ``head_input: tokens+corr`` the stem's template-search correlation
        (B, Nz, F, F) (:func:`~loretrack_plugin.models.stems.pixelwise_correlation`), else None.
        """
        cfg = self.cfg
        if z.shape[-2:] != (cfg.template_size,) * 2 or x.shape[-2:] != (cfg.search_size,) * 2:
            raise ValueError(f"input sizes {tuple(z.shape[-2:])}/{tuple(x.shape[-2:])} do not match the network: "
                             f"expected template {cfg.template_size}px and search {cfg.search_size}px")
        corr = None
        if cfg.head_input == "tokens+corr":
            fz, fx = self.patch_embed.features(z), self.patch_embed.features(x)
            corr = pixelwise_correlation(fz, fx)
            z, x = self.patch_embed.project(fz), self.patch_embed.project(fx)
        else:
            z, x = self.patch_embed(z), self.patch_embed(x)
        z = z + self.pos_embed_z
        x = x + self.pos_embed_x
        tokens = torch.cat([z, x], dim=1)
        nz = z.shape[1]
        want = set(qkv_blocks)
        qkvs = {}
        keep_ratio = cfg.ce_keep_ratio if ce_keep_ratio is None else ce_keep_ratio
        search_index = removed = None
        if self.ce_blocks:
            search_index = torch.arange(x.shape[1], device=x.device).unsqueeze(0).expand(x.shape[0], -1)
            removed = []
        for i, blk in enumerate(self.blocks):
            do_ce = i in self.ce_blocks and keep_ratio < 1.0
            tokens, qkv, attn = blk(tokens, need_qkv=i in want, need_attn=do_ce)
            if qkv is not None:
                qkvs[i] = qkv
            if do_ce:
                tokens, search_index, gone = eliminate_candidates(
                    attn, tokens, nz, keep_ratio, search_index, self.ce_template_rows)
                if gone is not None:
                    removed.append(gone)
            tokens = blk.forward_mlp(tokens)
        tokens = self.norm(tokens)
        if removed:
            tokens = _restore_search_order(tokens, nz, cfg.num_search_tokens, search_index, removed)
        return tokens, qkvs, corr


def _restore_search_order(tokens, nz, nx, kept_index, removed):
    """After CE: put surviving search tokens back at their raster positions, zeros where dropped."""
    B, _, C = tokens.shape
    out = tokens.new_zeros(B, nx, C)
    out.scatter_(1, kept_index.unsqueeze(-1).expand(-1, -1, C), tokens[:, nz:])
    return torch.cat([tokens[:, :nz], out], dim=1)


def resize_pos_embed(table: torch.Tensor, new_grid: int) -> torch.Tensor:
    """Bicubic (align_corners=False) resize of a square (1, g*g, C) position table to new_grid^2 rows."""
    n, C = table.shape[1], table.shape[2]
    g = int(round(math.sqrt(n)))
    if g * g != n:
        raise ValueError(f"position table with {n} rows is not a square grid")
    if g == new_grid:
        return table.clone()
    grid = table.reshape(1, g, g, C).permute(0, 3, 1, 2)
    grid = F.interpolate(grid.float(), size=(new_grid, new_grid), mode="bicubic", align_corners=False)
    return grid.permute(0, 2, 3, 1).reshape(1, new_grid * new_grid, C).to(table.dtype)
