"""Center head and box decoding (docs/method.md §1.6–1.7)."""
from __future__ import annotations

import torch
import torch.nn as nn


def _conv_bn_relu(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=True), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


def clamped_sigmoid(x: torch.Tensor) -> torch.Tensor:
    """clamp(sigmoid(x), 1e-4, 1 - 1e-4), evaluated in fp32 whatever the input's precision.

    Under mixed precision the logits arrive in bf16 or fp16, where 1 - 1e-4 rounds to exactly 1.0
    (the spacing just below 1 is 2^-8 in bf16 and 2^-11 in fp16): the clamp would then let a saturated
    score (a logit above ~6.3 in bf16, ~8.5 in fp16) through as 1.0, and the focal loss's log(1 - p)
    would be -inf. Reduced-precision logits are therefore cast to fp32 first; fp32 input is used as
    is (eager fp32 outputs are unchanged), so the result is fp32 in both cases.
    """
    if x.dtype in (torch.float16, torch.bfloat16):
        x = x.float()
    return torch.clamp(torch.sigmoid(x), min=1e-4, max=1 - 1e-4)


def peak_index(score_map: torch.Tensor) -> torch.Tensor:
    """Flat index (B, 1) of the maximum of each (B, 1, H, W) map, cells numbered row-major
    (idx = iy * W + ix); ties go to the first index, like torch.max. The one arg-max of the package:
    training's :func:`decode_peak` and the tracker's (windowed) peak both use it."""
    return score_map.flatten(1).argmax(dim=1, keepdim=True)


def decode_cells(index: torch.Tensor, size_map: torch.Tensor, offset_map: torch.Tensor) -> torch.Tensor:
    """Box at the cells ``index`` (B, 1) (flat, row-major) of the (B, 2, H, W) maps: normalised
    (cx, cy, w, h), shape (B, 4), in the maps' dtype.

    cx = (ix + offset_x) / W, cy = (iy + offset_y) / H, (w, h) = size at that cell.
    """
    B, _, Fh, Fw = size_map.shape
    iy = torch.div(index, Fw, rounding_mode="floor")
    ix = index % Fw
    gidx = index.unsqueeze(1).expand(B, 2, 1)
    size = size_map.flatten(2).gather(2, gidx).squeeze(-1)
    offset = offset_map.flatten(2).gather(2, gidx).squeeze(-1)
    return torch.cat([(ix.to(offset.dtype) + offset[:, :1]) / Fw,
                      (iy.to(offset.dtype) + offset[:, 1:]) / Fh, size], dim=1)


def decode_peak(score_map: torch.Tensor, size_map: torch.Tensor, offset_map: torch.Tensor) -> torch.Tensor:
    """Box at the arg-max cell of ``score_map`` (B,1,F,F): normalised (cx, cy, w, h), shape (B, 4)
    (:func:`peak_index`, then :func:`decode_cells`)."""
    return decode_cells(peak_index(score_map), size_map, offset_map)


class CenterHead(nn.Module):
    """Three parallel conv branches (centre score, offset, size) on the (B, C, F, F) search features.

    Each branch: 4 x [conv3x3 -> BN -> ReLU] with widths c, c/2, c/4, c/8 (official c = 256), then a
    1x1 conv to 1 (score), 2 (offset x,y in cells) or 2 (size w,h as fractions of the crop).
    Modules are registered ctr, offset, size: the official state_dict order.
    """

    def __init__(self, in_channels: int, channels: int = 256):
        super().__init__()
        widths = [in_channels, channels, channels // 2, channels // 4, channels // 8]
        for branch in ("ctr", "offset", "size"):
            for j in range(4):
                setattr(self, f"conv{j + 1}_{branch}", _conv_bn_relu(widths[j], widths[j + 1]))
        self.conv5_ctr = nn.Conv2d(widths[-1], 1, 1)
        self.conv5_offset = nn.Conv2d(widths[-1], 2, 1)
        self.conv5_size = nn.Conv2d(widths[-1], 2, 1)
        for p in self.parameters():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)

    def _branch(self, x: torch.Tensor, name: str) -> torch.Tensor:
        for j in range(1, 5):
            x = getattr(self, f"conv{j}_{name}")(x)
        return getattr(self, f"conv5_{name}")(x)

    def forward(self, feat: torch.Tensor):
        score = clamped_sigmoid(self._branch(feat, "ctr"))
        offset = self._branch(feat, "offset")
        size = clamped_sigmoid(self._branch(feat, "size"))
        return score, size, offset
