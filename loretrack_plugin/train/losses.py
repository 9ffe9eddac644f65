"""Loss terms of OSTrack training and LoReTrack distillation (docs/method.md §4.4–4.7), one small module each.

Total objective (defaults = the published method):

    L = 2 * GIoU + 5 * L1 + 1 * Focal + 0.01 * QKV-KD + 0.01 * Disc-KD
"""
from __future__ import annotations

from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F


# ------------------------------------------------------------------------------------------------
# boxes
# ------------------------------------------------------------------------------------------------
def cxcywh_to_xyxy(b: torch.Tensor) -> torch.Tensor:
    cx, cy, w, h = b.unbind(-1)
    return torch.stack([cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h], dim=-1)


def xywh_to_xyxy(b: torch.Tensor) -> torch.Tensor:
    x, y, w, h = b.unbind(-1)
    return torch.stack([x, y, x + w, y + h], dim=-1)


def box_iou_giou(a: torch.Tensor, b: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """IoU and generalised IoU of paired xyxy boxes (N, 4) -> (N,), (N,).

    giou = iou - (|C| - |A ∪ B|) / |C|, C the smallest box enclosing A and B.
    """
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    lt = torch.max(a[:, :2], b[:, :2])
    rb = torch.min(a[:, 2:], b[:, 2:])
    inter = (rb - lt).clamp(min=0).prod(dim=1)
    union = area_a + area_b - inter
    iou = inter / union
    lt_c = torch.min(a[:, :2], b[:, :2])
    rb_c = torch.max(a[:, 2:], b[:, 2:])
    area_c = (rb_c - lt_c).clamp(min=0).prod(dim=1)
    return iou, iou - (area_c - union) / area_c


# ------------------------------------------------------------------------------------------------
# task losses
# ------------------------------------------------------------------------------------------------
class FocalLoss(nn.Module):
    """CenterNet focal loss on the score map (α = 2, β = 4).

    p: predicted score (B, 1, F, F) in (0, 1); y: Gaussian heatmap (B, F, F) or (B, 1, F, F), peak 1.

        p' = clamp(float32(p), eps, 1 - eps)
        L  = -[ Σ_{y=1} (1-p')^α log p'  +  Σ_{y<1} (1-y)^β p'^α log(1-p') ] / max(N_pos, 1)

    with N_pos = #{y = 1} over the whole batch (when N_pos = 0 only the negative sum remains).

    The clamp is applied *after* the cast to fp32, with ``eps`` = 1e-4, the head's own clamp
    (:func:`loretrack_plugin.models.head.clamped_sigmoid`): for the head's fp32 scores it changes
    nothing, but a bf16/fp16 score that rounded to exactly 1.0 (or 0) under autocast gives a finite
    log(1 - p') = log(1e-4) instead of -inf. The value is computed without a host synchronisation
    (no Python branch on N_pos).
    """

    def __init__(self, alpha: float = 2.0, beta: float = 4.0, eps: float = 1e-4):
        super().__init__()
        self.alpha, self.beta, self.eps = alpha, beta, float(eps)

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        pred = pred.float().reshape(target.shape[0], -1).clamp(min=self.eps, max=1.0 - self.eps)
        target = target.float().reshape(target.shape[0], -1)
        pos = target.eq(1).float()
        neg = target.lt(1).float()
        pos_loss = (torch.log(pred) * (1 - pred) ** self.alpha * pos).sum()
        neg_loss = (torch.log(1 - pred) * pred ** self.alpha * (1 - target) ** self.beta * neg).sum()
        n_pos = pos.sum()
        # N_pos = 0 -> pos_loss = 0 and the denominator is 1: -neg_loss, as the official branch
        return -(pos_loss + neg_loss) / n_pos.clamp(min=1.0)


class GIoULoss(nn.Module):
    """mean(1 - GIoU(pred, gt)) over the batch, on xyxy boxes (B, 4); also returns mean IoU (detached)."""

    def forward(self, pred_xyxy: torch.Tensor, gt_xyxy: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        iou, giou = box_iou_giou(pred_xyxy.float(), gt_xyxy.float())
        return (1 - giou).mean(), iou.detach().mean()


class BoxL1Loss(nn.Module):
    """mean |pred - gt| over B x 4 xyxy coordinates."""

    def forward(self, pred_xyxy: torch.Tensor, gt_xyxy: torch.Tensor) -> torch.Tensor:
        return F.l1_loss(pred_xyxy.float(), gt_xyxy.float(), reduction="mean")


# ------------------------------------------------------------------------------------------------
# distillation
# ------------------------------------------------------------------------------------------------
class ChannelKL(nn.Module):
    """KL divergence between channel distributions at every position (``DistillKL`` of the official code).

    s, t: (B, C, H, W) on the same grid; w: optional per-position weight (B, 1, H, W) or (B, H, W).

        L = (T^2 / B) * Σ_{b,i,j} w[b,i,j] * KL( softmax(t[b,:,i,j] / T) || softmax(s[b,:,i,j] / T) )

    (sum over positions, divided by the batch size only: absolute values are large, docs/method.md, pitfall P6).
    """

    def __init__(self, temperature: float = 4.0):
        super().__init__()
        self.T = float(temperature)

    def forward(self, s: torch.Tensor, t: torch.Tensor, weight: Optional[torch.Tensor] = None) -> torch.Tensor:
        log_ps = F.log_softmax(s.float() / self.T, dim=1)
        log_pt = F.log_softmax(t.float() / self.T, dim=1)
        kl = F.kl_div(log_ps, log_pt, reduction="none", log_target=True).sum(dim=1)  # (B, H, W)
        if weight is not None:
            kl = kl * weight.reshape(kl.shape)
        return kl.sum() * (self.T ** 2) / s.shape[0]


def to_teacher_grid(s: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Student map (B, C, Fs, Fs) bilinearly resized (align_corners=False) to the teacher grid."""
    if s.shape[-2:] == t.shape[-2:]:
        return s
    return F.interpolate(s, size=t.shape[-2:], mode="bilinear", align_corners=False)


class QKVDistillLoss(nn.Module):
    """QKV-KD: the student's q/k/v of the search tokens imitate the teacher's (docs/method.md §4.5).

    Inputs: dicts ``{(block, 'q'|'k'|'v'): map}`` with student maps (B, H*d, Fs, Fs) and teacher maps
    (B, H*d, Ft, Ft) (channel = head * d + j, from ``TrackerNet.search_tokens_map``), keyed alike.
    Each student map is up-sampled bilinearly to Ft x Ft, then

        L_QKV = Σ_{block} Σ_{M in q,k,v} ChannelKL_T(Up(M_s), M_t)

    (published: last block only, all three of q, k, v, T = 4).
    """

    def __init__(self, temperature: float = 4.0):
        super().__init__()
        self.kl = ChannelKL(temperature)

    def forward(self, student: Dict, teacher: Dict) -> torch.Tensor:
        if set(student) != set(teacher) or not student:
            raise ValueError(f"QKV-KD needs the same non-empty keys for student and teacher: "
                             f"{sorted(student)} vs {sorted(teacher)}")
        return sum(self.kl(to_teacher_grid(student[k], teacher[k]), teacher[k]) for k in sorted(student))


class DiscDistillLoss(nn.Module):
    """Disc-KD: final search features, weighted toward the teacher's discriminative region (docs/method.md §4.6).

    s: student features (B, C, Fs, Fs), up-sampled bilinearly to the teacher grid; t: teacher (B, C, Ft, Ft).
    Energy E[b,p] = mean_c t[b,c,p]^2; mask m = (E >= threshold); weight w = inside * m + outside * (1 - m);

        L_disc = ChannelKL_T(Up(s), t, weight=w)

    which equals the official 0.6 * KL(s*m, t*m) + 0.4 * KL(s*(1-m), t*(1-m)): a position zeroed in
    both tensors gives two uniform distributions and contributes exactly 0.
    """

    def __init__(self, threshold: float = 0.2, inside: float = 0.6, outside: float = 0.4, temperature: float = 4.0):
        super().__init__()
        self.threshold, self.inside, self.outside = float(threshold), float(inside), float(outside)
        self.kl = ChannelKL(temperature)

    def mask(self, t: torch.Tensor) -> torch.Tensor:
        """Discriminative region (B, 1, Ft, Ft) as 0/1 floats."""
        return (t.float().pow(2).mean(dim=1, keepdim=True) >= self.threshold).float()

    def forward(self, s: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        m = self.mask(t)
        w = self.inside * m + self.outside * (1 - m)
        return self.kl(to_teacher_grid(s, t), t, weight=w)


def resolve_blocks(blocks: Sequence[int], depth: int) -> Tuple[int, ...]:
    """Block indices with negatives counted from the end (-1 = last block); range-checked."""
    out = []
    for b in blocks:
        i = int(b) + depth if int(b) < 0 else int(b)
        if not 0 <= i < depth:
            raise ValueError(f"distillation block {b} does not exist in a {depth}-block network")
        out.append(i)
    return tuple(dict.fromkeys(out))
