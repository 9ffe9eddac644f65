"""Pretrained convolutional stems that can replace the ViT's 16x16 linear patch embedding.

A stem is a small CNN cut at stride 16, so a 192 px crop still gives a 12x12 token grid and every size
the network derives from :class:`~loretrack_plugin.config.NetConfig` stays what it is. Its output
channels are projected to the embedding width by a 1x1 convolution named ``proj`` (the key of the
linear patch embedding, ``backbone.patch_embed.proj.weight``, so the checkpoint tools read the width
the same way for both kinds).

The stems take what the rest of the package produces: ImageNet-normalised RGB crops. Each stem turns
that back into the input its weights were trained on (:attr:`ConvStem.input_space`), inside the
module, so the crop code, the trainer and the exports need no special case.

Two stems, both with redistributable trained weights (``models/pretrained/README.md``):

* ``nanotrack-v3``: the MobileNetV3-Small backbone of the NanoTrack v3 tracker, cut at stride 16
  (96 channels). ImageNet-pretrained, then trained for tracking; it expects raw BGR pixels 0-255.
* ``mobilenetv2``: MobileNetV2 ImageNet features ``features[:14]`` (stride 16, 96 channels); it expects ImageNet-normalised RGB.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Dict, List

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..config import IMAGENET_MEAN, IMAGENET_STD, PATCH_EMBEDS

PRETRAINED_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pretrained")


def _round8(v: float) -> int:
    """Channel widths of both MobileNets: the nearest multiple of 8, never more than 10 % below ``v``."""
    r = max(8, int(v + 4) // 8 * 8)
    return r + 8 if r < 0.9 * v else r


class SqueezeExcite(nn.Module):
    """Channel gate: global mean -> ``fc.0`` (to width/4, rounded to 8) -> ReLU -> ``fc.2`` -> hard sigmoid."""

    def __init__(self, ch: int):
        super().__init__()
        self.fc = nn.Sequential(nn.Linear(ch, _round8(ch / 4)), nn.ReLU(inplace=True), nn.Linear(_round8(ch / 4), ch))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * F.hardsigmoid(self.fc(x.mean((2, 3)))).unsqueeze(-1).unsqueeze(-1)


def _bn(ch: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(ch)


class MobileNetV3Block(nn.Module):
    """Inverted residual of MobileNetV3, with the module indices of NanoTrack's checkpoint under ``conv``.

    Expanding (hidden != in): 0 pw, 1 BN, 2 act, 3 dw, 4 BN, 5 SE or identity, 6 act, 7 pw, 8 BN.
    Not expanding: 0 dw, 1 BN, 2 act, 3 SE or identity, 4 pw, 5 BN.
    """

    def __init__(self, cin: int, kernel: int, hidden: int, cout: int, se: bool, hswish: bool, stride: int):
        super().__init__()
        act = nn.Hardswish if hswish else nn.ReLU
        gate = SqueezeExcite(hidden) if se else nn.Identity()
        dw = nn.Conv2d(hidden, hidden, kernel, stride, kernel // 2, groups=hidden, bias=False)
        project = [nn.Conv2d(hidden, cout, 1, bias=False), _bn(cout)]
        if hidden == cin:
            layers = [dw, _bn(hidden), act(inplace=True), gate, *project]
        else:
            layers = [nn.Conv2d(cin, hidden, 1, bias=False), _bn(hidden), act(inplace=True),
                      dw, _bn(hidden), gate, act(inplace=True), *project]
        self.conv = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.residual else self.conv(x)


# NanoTrack v3's backbone after the first conv: (kernel, expansion, out, SE, hard-swish, stride)
_NANOTRACK_V3 = [(3, 1, 16, True, False, 2), (3, 4.5, 24, False, False, 2), (3, 3.67, 24, False, False, 1),
                 (5, 4, 40, True, True, 2), (5, 6, 40, True, True, 1), (5, 6, 40, True, True, 1),
                 (5, 3, 48, True, True, 1), (5, 3, 48, True, True, 1), (5, 6, 96, True, True, 1)]


class MobileNetV2Block(nn.Module):
    """Inverted residual of MobileNetV2, with the flat module indices of the shipped weights under ``conv``:
    expanding: 0 pw, 1 BN, 2 ReLU6, 3 dw, 4 BN, 5 ReLU6, 6 pw, 7 BN; not expanding: 0 dw, 1 BN, 2 ReLU6, 3 pw, 4 BN.
    """

    def __init__(self, cin: int, cout: int, stride: int, expansion: int):
        super().__init__()
        hidden = cin * expansion
        layers: List[nn.Module] = []
        if expansion != 1:
            layers += [nn.Conv2d(cin, hidden, 1, bias=False), _bn(hidden), nn.ReLU6(inplace=True)]
        layers += [nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False), _bn(hidden),
                   nn.ReLU6(inplace=True), nn.Conv2d(hidden, cout, 1, bias=False), _bn(cout)]
        self.conv = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.residual else self.conv(x)


# MobileNetV2 stages up to stride 16 (features[1:14]): (expansion, out, repeats, first stride)
_MOBILENET_V2_S16 = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1)]


def _nanotrack_v3_features() -> nn.Sequential:
    layers: List[nn.Module] = [nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1, bias=False), _bn(16), nn.Hardswish(inplace=True))]
    cin = 16
    for kernel, expansion, cout, se, hswish, stride in _NANOTRACK_V3:
        layers.append(MobileNetV3Block(cin, kernel, _round8(cin * expansion), cout, se, hswish, stride))
        cin = cout
    return nn.Sequential(*layers)


def _mobilenet_v2_features() -> nn.Sequential:
    layers: List[nn.Module] = [nn.Sequential(nn.Conv2d(3, 32, 3, 2, 1, bias=False), _bn(32), nn.ReLU6(inplace=True))]
    cin = 32
    for expansion, cout, repeats, stride in _MOBILENET_V2_S16:
        for i in range(repeats):
            layers.append(MobileNetV2Block(cin, cout, stride if i == 0 else 1, expansion))
            cin = cout
    return nn.Sequential(*layers)


@dataclass(frozen=True)
class StemSpec:
    """What a stem is: how to build it, what it outputs, what input its weights expect, and where its
    trained weights are (file in ``models/pretrained``, and the key prefix of the stem inside it)."""
    build: object
    channels: int
    input_space: str  # "bgr255" (raw BGR pixels) | "imagenet" (ImageNet-normalised RGB)
    weights: str
    key_prefix: str


STEMS: Dict[str, StemSpec] = {
    "nanotrack-v3": StemSpec(_nanotrack_v3_features, 96, "bgr255", "nanotrack-v3.state_dict.pth", "backbone.features."),
    "mobilenetv2": StemSpec(_mobilenet_v2_features, 96, "imagenet", "mobilenetv2-features14.pth", "features."),
}
assert PATCH_EMBEDS == ("linear",) + tuple(STEMS), "config.PATCH_EMBEDS must list the stems of STEMS"


class ConvStem(nn.Module):
    """A pretrained stem + 1x1 projection: (B, 3, S, S) ImageNet-normalised RGB -> (B, (S/16)^2, embed_dim).

    ``features(x)`` gives the stem's own map (B, 96, S/16, S/16) for the correlation that
    ``head_input: tokens+corr`` feeds the head. ``zoom`` > 1 up-samples the input that many times
    (bilinear) before the stem and average-pools the map back, so the grid stays S/16 while the stem
    works at the pixel scale its weights were trained at (``NetConfig.stem_zoom``).
    """

    def __init__(self, name: str, embed_dim: int, zoom: int = 1):
        super().__init__()
        if name not in STEMS:
            raise ValueError(f"unknown stem {name!r}: expected one of {sorted(STEMS)}")
        if isinstance(zoom, bool) or not isinstance(zoom, int) or not 1 <= zoom <= 4:
            raise ValueError(f"zoom: expected an integer from 1 to 4, got {zoom!r}")
        spec = STEMS[name]
        self.name, self.input_space, self.frozen, self.zoom = name, spec.input_space, False, zoom
        self.stem = nn.Module()
        self.stem.features = spec.build()
        self.proj = nn.Conv2d(spec.channels, embed_dim, 1)
        # x_raw = x_norm * std + mean (in 0-1), then to 0-255 and BGR order: one per-channel affine map
        scale = torch.tensor(IMAGENET_STD) * 255.0
        shift = torch.tensor(IMAGENET_MEAN) * 255.0
        self.register_buffer("in_scale", scale.view(1, 3, 1, 1), persistent=False)
        self.register_buffer("in_shift", shift.view(1, 3, 1, 1), persistent=False)

    def freeze(self) -> None:
        """Keep the stem's trained weights and BatchNorm statistics: no gradient, and ``train()`` leaves
        the stem in eval mode (the projection still trains)."""
        self.stem.requires_grad_(False)
        self.frozen = True
        self.stem.eval()

    def train(self, mode: bool = True):
        super().train(mode)
        if self.frozen:
            self.stem.eval()
        return self

    def features(self, x: torch.Tensor) -> torch.Tensor:
        if self.input_space == "bgr255":
            x = (x * self.in_scale + self.in_shift).flip(1)
        if self.zoom > 1:
            size = (x.shape[-2] * self.zoom, x.shape[-1] * self.zoom)
            x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
        # depthwise convolutions run about twice as fast channels-last on CPU (oneDNN)
        x = x.contiguous(memory_format=torch.channels_last)
        if self.frozen:
            with torch.no_grad():
                f = self.stem.features(x)
        else:
            f = self.stem.features(x)
        if self.zoom > 1:
            f = F.avg_pool2d(f, self.zoom)
        return f.contiguous()

    def project(self, feat: torch.Tensor) -> torch.Tensor:
        """Stem map (B, 96, G, G) -> tokens (B, G*G, embed_dim), row-major."""
        return self.proj(feat).flatten(2).transpose(1, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.project(self.features(x))


def pixelwise_correlation(z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Cosine similarity of every search cell with every template cell.

    z (B, C, Gz, Gz), x (B, C, F, F) -> (B, Gz*Gz, F, F): channel k is the similarity of each search
    cell to template cell k (row-major). Untrained, a pretrained stem's correlation already locates the
    target; the head learns to read it.
    """
    z = F.normalize(z.flatten(2), dim=1)
    x = F.normalize(x, dim=1)
    B, C, Fh, Fw = x.shape
    return torch.bmm(z.transpose(1, 2), x.flatten(2)).view(B, -1, Fh, Fw)
