"""Actors: forward one batch and compute the loss (the trainer loop never touches a loss term).

:class:`TrackingActor` is plain OSTrack training (teachers, same-resolution baselines).
:class:`DistillActor` is LoReTrack (docs/method.md §4.9): the batch holds crops at the teacher's
resolution; the frozen teacher sees them as they are, the student sees a bilinear down-sample of the
very same normalised crops, and the normalised box labels are shared (only the heatmap grid changes).
"""
from __future__ import annotations

from typing import Dict, Mapping, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..data.labels import gaussian_heatmap
from ..models.net import TrackerNet
from .losses import (BoxL1Loss, DiscDistillLoss, FocalLoss, GIoULoss, QKVDistillLoss, cxcywh_to_xyxy, resolve_blocks,
                     xywh_to_xyxy)


def _unwrap(net: nn.Module) -> TrackerNet:
    return net.module if hasattr(net, "module") else net


class TrackingActor:
    """Task loss of the tracker on a batch (docs/method.md §4.4).

    ``batch``: ``template`` (B,3,Sz,Sz), ``search`` (B,3,Sx,Sx) at the network's sizes, ``search_box``
    (B,4) normalised x,y,w,h. Loss = giou * L_giou + l1 * L_l1 + focal * L_focal, boxes at the peak of
    the *predicted* score map, heatmap on the network's F x F grid.
    """

    def __init__(self, net: nn.Module, giou: float = 2.0, l1: float = 5.0, focal: float = 1.0):
        self.net = net
        self.w = {"giou": float(giou), "l1": float(l1), "focal": float(focal)}
        self.focal, self.giou, self.l1 = FocalLoss(), GIoULoss(), BoxL1Loss()

    def task_loss(self, out: Mapping[str, torch.Tensor], gt_box: torch.Tensor, grid: int
                  ) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
        heat = gaussian_heatmap(gt_box, grid).to(out["score_map"].device)
        pred = cxcywh_to_xyxy(out["pred_boxes"].reshape(-1, 4).float())
        gt = xywh_to_xyxy(gt_box.float()).clamp(0.0, 1.0)
        l_giou, iou = self.giou(pred, gt)
        l_l1 = self.l1(pred, gt)
        l_focal = self.focal(out["score_map"], heat)
        total = self.w["giou"] * l_giou + self.w["l1"] * l_l1 + self.w["focal"] * l_focal
        return total, {"giou": l_giou.detach(), "l1": l_l1.detach(), "focal": l_focal.detach(), "iou": iou}

    def __call__(self, batch: Mapping, ce_keep_ratio: Optional[float] = None):
        net = _unwrap(self.net)
        out = self.net(batch["template"], batch["search"], ce_keep_ratio=ce_keep_ratio)
        loss, stats = self.task_loss(out, batch["search_box"], net.cfg.feat_size)
        stats["total"] = loss.detach()
        return loss, stats


class DistillActor(TrackingActor):
    """LoReTrack: task loss of the student + QKV-KD + Disc-KD from a frozen teacher.

    ``batch`` holds crops at the teacher's sizes. Student inputs = ``F.interpolate(crop, student size,
    bilinear, align_corners=False, antialias=antialias)``. Loss =

        giou * L_giou + l1 * L_l1 + focal * L_focal + qkv_weight * L_QKV + disc_weight * L_disc

    ``teacher_forward``: ``inference`` runs the teacher under ``torch.inference_mode`` (no autograd
    bookkeeping at all); ``no_grad`` under ``torch.no_grad``; ``autograd`` with grad mode on, like the
    official code (the teacher's parameters are frozen, so no graph is kept either way).
    """

    def __init__(self, student: nn.Module, teacher: TrackerNet, giou=2.0, l1=5.0, focal=1.0,
                 qkv: Optional[Mapping] = None, disc: Optional[Mapping] = None, antialias: bool = False,
                 teacher_forward: str = "inference"):
        super().__init__(student, giou, l1, focal)
        s_cfg, t_cfg = _unwrap(student).cfg, teacher.cfg
        if s_cfg.embed_dim != t_cfg.embed_dim or s_cfg.num_heads != t_cfg.num_heads:
            raise ValueError(f"student width {s_cfg.embed_dim}/{s_cfg.num_heads} heads differs from teacher width "
                             f"{t_cfg.embed_dim}/{t_cfg.num_heads} heads: channel-wise KD needs equal widths")
        self.teacher = teacher
        self.antialias = bool(antialias)
        self.teacher_forward = teacher_forward
        qkv = dict(qkv or {})
        disc = dict(disc or {})
        self.w["qkv"] = float(qkv.get("weight", 0.01))
        self.w["disc"] = float(disc.get("weight", 0.01))
        self.qkv_tensors = tuple(qkv.get("tensors", ("q", "k", "v")))
        blocks = qkv.get("blocks", (-1,))
        self.s_blocks = resolve_blocks(blocks, s_cfg.depth) if self.w["qkv"] else ()
        self.t_blocks = resolve_blocks(blocks, t_cfg.depth) if self.w["qkv"] else ()
        self.qkv_loss = QKVDistillLoss(qkv.get("temperature", 4.0))
        self.disc_loss = DiscDistillLoss(disc.get("threshold", 0.2), disc.get("inside", 0.6), disc.get("outside", 0.4),
                                         disc.get("temperature", 4.0))

    def _qkv_maps(self, net: TrackerNet, out: Mapping, blocks: Sequence[int]) -> Dict:
        maps = {}
        for j, b in enumerate(blocks):
            q, k, v = out["qkv"][b]
            for name, t in zip("qkv", (q, k, v)):
                if name in self.qkv_tensors:
                    maps[(j, name)] = net.search_tokens_map(t)
        return maps

    def teacher_targets(self, z: torch.Tensor, x: torch.Tensor) -> Dict:
        """Teacher outputs needed by the KD terms (plain tensors, never part of a graph)."""
        t = self.teacher
        need_feat = self.w["disc"] != 0

        def run():
            out = t(z, x, qkv_blocks=self.t_blocks, return_features=need_feat)
            res = {"qkv": self._qkv_maps(t, out, self.t_blocks), "pred_boxes": out["pred_boxes"]}
            if need_feat:
                res["search_feat"] = out["search_feat"]
            return res

        if self.teacher_forward == "inference":
            with torch.inference_mode():
                res = run()
            # inference tensors may not be saved for backward: copy the few targets out of that mode
            return {k: ({kk: vv.clone() for kk, vv in v.items()} if isinstance(v, dict) else v.clone())
                    for k, v in res.items()}
        if self.teacher_forward == "no_grad":
            with torch.no_grad():
                return run()
        return run()

    def student_inputs(self, batch: Mapping) -> Tuple[torch.Tensor, torch.Tensor]:
        cfg = _unwrap(self.net).cfg
        return (self._resize(batch["template"], cfg.template_size), self._resize(batch["search"], cfg.search_size))

    def _resize(self, x: torch.Tensor, size: int) -> torch.Tensor:
        if x.shape[-1] == size and x.shape[-2] == size:
            return x
        return F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=self.antialias)

    def __call__(self, batch: Mapping, ce_keep_ratio: Optional[float] = None):
        net = _unwrap(self.net)
        tgt = self.teacher_targets(batch["template"], batch["search"])
        z, x = self.student_inputs(batch)
        out = self.net(z, x, qkv_blocks=self.s_blocks, return_features=self.w["disc"] != 0,
                       ce_keep_ratio=ce_keep_ratio)
        loss, stats = self.task_loss(out, batch["search_box"], net.cfg.feat_size)
        if self.w["qkv"]:
            l_qkv = self.qkv_loss(self._qkv_maps(net, out, self.s_blocks), tgt["qkv"])
            loss = loss + self.w["qkv"] * l_qkv
            stats["qkv"] = l_qkv.detach()
        if self.w["disc"]:
            l_disc = self.disc_loss(out["search_feat"], tgt["search_feat"])
            loss = loss + self.w["disc"] * l_disc
            stats["disc"] = l_disc.detach()
        with torch.no_grad():
            gt = xywh_to_xyxy(batch["search_box"].float()).clamp(0.0, 1.0)
            stats["teacher_iou"] = self.giou(cxcywh_to_xyxy(tgt["pred_boxes"].reshape(-1, 4).float()), gt)[1]
        stats["total"] = loss.detach()
        return loss, stats
