"""Inflate a trained network into a wider and deeper one that computes the same maps.

Why: the official ViT-B weights cannot be downloaded here, and random ViT-B weights give flat score
maps, so a benchmark of the full tracker step on them measures the guard of the fast backends on
ties that a trained tracker does not have. Inflating a trained miniature network (ViT 256/6) into
the ViT-B architecture (768/12) gives dense ViT-B weights whose maps are a trained tracker's.

How (exact up to float rounding, ``inflate_state_dict``):

* width: every channel of the residual stream is repeated ``r = C'/C`` times (tiled:
  new channel j is old channel j mod C). LayerNorm sees the same mean and variance, so it commutes
  with the tiling. A linear layer ``y = W x + b`` becomes ``W' = tile(W, r_out, r_in) / r_in``,
  ``b' = tile(b, r_out)``. With the head dimension unchanged (64), new head h is old head h mod H.
* MLP hidden units and the centre head's conv channels are tiled the same way (BN statistics too).
* depth: the blocks beyond the source's depth are copies of trained blocks whose two output
  projections (``attn.proj``, ``mlp.fc2``) are zero, so they add nothing to the residual stream
  but cost a real block's arithmetic.
* resolution: position tables are resized bicubically when the crop sizes differ, as
  :func:`loretrack_plugin.checkpoint.load_checkpoint` does (then the maps are the source network's
  run at the new sizes).

What it is not: a better tracker. Its accuracy is the source's; only its cost is ViT-B's. Reduced-
precision errors come from the trained blocks only (the identity blocks add none).
"""
from __future__ import annotations

from typing import Dict

import torch

from ..config import ConfigError, NetConfig
from .net import TrackerNet
from .vit import resize_pos_embed

StateDict = Dict[str, torch.Tensor]

_HEAD_CONVS = 4  # conv1..conv4 of each head branch are tiled; conv5 (1 or 2 outputs) is not


def check_inflatable(src: NetConfig, dst: NetConfig) -> None:
    """Raise ConfigError naming the first size of ``dst`` that ``src`` cannot be inflated to."""
    def ratio(name: str, a: int, b: int) -> None:
        if b < a or b % a:
            raise ConfigError(f"cannot inflate {name} {a} to {b}: it must be a multiple")

    for field in ("patch_embed", "head_input"):
        if getattr(src, field) != getattr(dst, field):
            raise ConfigError(f"cannot inflate {field} {getattr(src, field)!r} into {getattr(dst, field)!r}: "
                              "source and target must have the same one (the shipped demo models use a pretrained "
                              "stem; inflate a linear-patch network, e.g. one of the 'mini' recipe)")
    ratio("embed_dim", src.embed_dim, dst.embed_dim)
    ratio("MLP width", src.mlp_hidden, dst.mlp_hidden)
    ratio("head_channels", src.head_channels, dst.head_channels)
    if src.head_dim != dst.head_dim:
        raise ConfigError(f"cannot inflate head dim {src.head_dim} to {dst.head_dim}: they must be equal")
    if dst.depth < src.depth:
        raise ConfigError(f"cannot inflate depth {src.depth} to {dst.depth}: it must not shrink")


def _tile(t: torch.Tensor, reps_out: int, reps_in: int = 1) -> torch.Tensor:
    """Weight (out, in, ...) tiled reps_out x reps_in and divided by reps_in; 1-D tensors: tiled."""
    if t.dim() == 1:
        return t.repeat(reps_out)
    reps = (reps_out, reps_in) + (1,) * (t.dim() - 2)
    return t.repeat(*reps) / reps_in


def _tile_table(t: torch.Tensor, r: int) -> torch.Tensor:
    """A (1, N, C) table (position embeddings, cls token) tiled along C."""
    return t.repeat(1, 1, r)


def inflate_state_dict(sd: StateDict, src: NetConfig, dst: NetConfig) -> StateDict:
    """The official-layout state dict of a ``dst`` network computing what ``sd`` (a ``src`` network)
    computes, at ``dst``'s crop sizes (module docstring). Pure: ``sd`` is not modified."""
    check_inflatable(src, dst)
    r = dst.embed_dim // src.embed_dim
    rm = dst.mlp_hidden // src.mlp_hidden
    rh = dst.head_channels // src.head_channels
    C = src.embed_dim
    out: StateDict = {}
    b = "backbone."
    out[b + "cls_token"] = _tile_table(sd[b + "cls_token"], r)
    table = sd[b + "pos_embed"]  # unused in forward; resized like the loader does
    patch = resize_pos_embed(table[:, 1:], dst.pretrain_grid)
    out[b + "pos_embed"] = _tile_table(torch.cat([table[:, :1], patch], dim=1), r)
    out[b + "pos_embed_z"] = _tile_table(resize_pos_embed(sd[b + "pos_embed_z"], dst.template_feat_size), r)
    out[b + "pos_embed_x"] = _tile_table(resize_pos_embed(sd[b + "pos_embed_x"], dst.feat_size), r)
    out[b + "patch_embed.proj.weight"] = _tile(sd[b + "patch_embed.proj.weight"], r)
    out[b + "patch_embed.proj.bias"] = _tile(sd[b + "patch_embed.proj.bias"], r)
    for i in range(dst.depth):
        s, d = f"{b}blocks.{i % src.depth}.", f"{b}blocks.{i}."
        for ln in ("norm1", "norm2"):
            out[d + ln + ".weight"] = _tile(sd[s + ln + ".weight"], r)
            out[d + ln + ".bias"] = _tile(sd[s + ln + ".bias"], r)
        # qkv rows are [q; k; v]: tile each third on its own
        w = sd[s + "attn.qkv.weight"].reshape(3, C, C)
        out[d + "attn.qkv.weight"] = w.repeat(1, r, r).reshape(3 * C * r, C * r) / r
        out[d + "attn.qkv.bias"] = sd[s + "attn.qkv.bias"].reshape(3, C).repeat(1, r).reshape(-1)
        out[d + "attn.proj.weight"] = _tile(sd[s + "attn.proj.weight"], r, r)
        out[d + "attn.proj.bias"] = _tile(sd[s + "attn.proj.bias"], r)
        out[d + "mlp.fc1.weight"] = _tile(sd[s + "mlp.fc1.weight"], rm, r)
        out[d + "mlp.fc1.bias"] = _tile(sd[s + "mlp.fc1.bias"], rm)
        out[d + "mlp.fc2.weight"] = _tile(sd[s + "mlp.fc2.weight"], r, rm)
        out[d + "mlp.fc2.bias"] = _tile(sd[s + "mlp.fc2.bias"], r)
        if i >= src.depth:  # an added block: computes, adds nothing
            for k in ("attn.proj.weight", "attn.proj.bias", "mlp.fc2.weight", "mlp.fc2.bias"):
                out[d + k] = torch.zeros_like(out[d + k])
    out[b + "norm.weight"] = _tile(sd[b + "norm.weight"], r)
    out[b + "norm.bias"] = _tile(sd[b + "norm.bias"], r)
    for branch in ("ctr", "offset", "size"):
        for j in range(1, _HEAD_CONVS + 1):
            p = f"box_head.conv{j}_{branch}."
            out[p + "0.weight"] = _tile(sd[p + "0.weight"], rh, r if j == 1 else rh)
            out[p + "0.bias"] = _tile(sd[p + "0.bias"], rh)
            for k in ("weight", "bias", "running_mean", "running_var"):
                out[p + "1." + k] = _tile(sd[p + "1." + k], rh)
            out[p + "1.num_batches_tracked"] = sd[p + "1.num_batches_tracked"].clone()
        p = f"box_head.conv5_{branch}."
        out[p + "weight"] = _tile(sd[p + "weight"], 1, rh)
        out[p + "bias"] = sd[p + "bias"].clone()
    return out


def inflate_net(src: TrackerNet, dst: NetConfig) -> TrackerNet:
    """A ``dst`` network (eval mode) that computes the maps of the trained ``src`` (module docstring)."""
    net = TrackerNet(dst).eval()
    sd = inflate_state_dict({k: v.detach() for k, v in src.state_dict().items()}, src.cfg, dst)
    net.load_state_dict(sd, strict=True)
    return net
