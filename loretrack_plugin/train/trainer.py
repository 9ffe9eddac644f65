"""The training loop: plain OSTrack training (``train``) and LoReTrack distillation (``distill``).

One :class:`Trainer` owns the student, the optional frozen teacher, the data, the optimiser
(AdamW: head at ``lr``, backbone at ``lr * backbone_lr_mult``, weight decay on every parameter,
StepLR per epoch, global grad-norm clip), checkpoints, TensorBoard and the progress bar. The actor
(:mod:`.actor`) computes the loss; the loop never looks inside it.

Checkpoints (``<output_dir>/checkpoints``) use the official layout through
:func:`loretrack_plugin.save_checkpoint` — ``OSTrack_ep%04d.pth.tar`` on the configured epochs and
at the end, ``latest.pth.tar`` after every epoch (and every ``save_every_steps``). Besides ``net``
they hold what an exact resume needs: optimiser, scheduler, AMP scaler, every process's RNG state,
the global step and the step inside the epoch, and the resolved config. Samples are a pure function
of (seed, epoch, index), so resuming replays the same stream.

Rules the trainer enforces (docs/training.md §3, "Batch size, learning rate and precision"):

* ``optim.batch_size`` is per process; the global batch is batch_size x processes. The learning rates
  are used as written (no scaling); a warning names the difference when the global batch is not
  ``optim.reference_batch`` (128: the published recipe's 4 GPUs x 32).
* Mixed precision (``optim.amp``, :func:`amp_dtype`): bf16 only on GPUs that have it natively
  (compute capability >= 8.0), fp16 + GradScaler on older ones, fp32 when asked. The score map and
  the focal loss are evaluated in fp32 whatever the autocast dtype (a saturated score cannot become
  NaN).
* Resuming with another global batch (other number of processes or batch size) converts a mid-epoch
  position exactly or refuses (:func:`converted_step_in_epoch`). A multi-node run whose
  ``run.output_dir`` is not shared by every node is detected: a warning at start, a clear error on
  resume; generated synthetic data are generated on every node that does not see them.
"""
from __future__ import annotations

import logging
import math
import os
import shutil
import time
import types
from typing import Dict, Iterable, List, Mapping, Optional, Union

import torch
import torch.nn as nn

from ..checkpoint import (extract_state_dict, infer_config, load_checkpoint, load_pretrained_stem,
                          read_checkpoint_file, save_checkpoint)
from .. import shipped
from ..config import ARCH_FIELDS, NetConfig
from ..data.readers import build_dataset
from ..data.augment import Augment
from ..data.processing import CropSpec, PairProcessing
from ..data.sampler import PairSampler, ShardedBatches, collate, worker_init
from ..models.net import TrackerNet
from ..models.stems import ConvStem
from ..utils.files import atomic_path, write_json, write_text
from . import distributed as ddp
from .actor import DistillActor, TrackingActor
from .config import ConfigError, dump_config, load_config, net_kwargs

log = logging.getLogger("loretrack")


class NonFiniteLossError(RuntimeError):
    """The loss became NaN/inf: training stops, naming the step and the samples of the batch."""


# ------------------------------------------------------------------------------------------------
# precision and resume rules
# ------------------------------------------------------------------------------------------------
AMP_SETTINGS = ("auto", "bf16", "fp16", "fp32")


def _procs(n: int) -> str:
    return f"{n} process" if n == 1 else f"{n} processes"


def amp_dtype(setting, device: torch.device) -> Optional[torch.dtype]:
    """Autocast dtype for ``optim.amp`` on ``device``; ``None`` = fp32 (no autocast).

    ==============  ===============================================  ======================
    ``optim.amp``   CUDA device                                      CPU
    ==============  ===============================================  ======================
    true / auto     bf16 if compute capability >= 8.0 (Ampere and    fp32
                    later), else fp16 (with GradScaler)
    bf16            bf16; refused below capability 8.0               bf16 (CPU autocast)
    fp16            fp16 (with GradScaler)                           refused
    false / fp32    fp32                                             fp32
    ==============  ===============================================  ======================

    ``torch.cuda.is_bf16_supported()`` is not used: it answers True on V100/T4 too (bf16 is emulated
    there, slowly), which would never take the fp16 path on pre-Ampere GPUs.
    """
    if setting is None or isinstance(setting, bool):
        key = "auto" if setting else "fp32"
    else:
        key = str(setting).strip().lower()
    if key not in AMP_SETTINGS:
        raise ConfigError(f"optim.amp={setting!r}: expected true, false, auto, bf16, fp16 or fp32")
    if key == "fp32":
        return None
    if device.type != "cuda":
        if key == "bf16":
            return torch.bfloat16
        if key == "fp16":
            raise ConfigError("optim.amp=fp16 needs a CUDA device (use bf16 or fp32 on CPU)")
        return None
    native_bf16 = torch.cuda.get_device_capability(device)[0] >= 8
    if key == "bf16" and not native_bf16:
        cc = ".".join(map(str, torch.cuda.get_device_capability(device)))
        raise ConfigError(f"optim.amp=bf16: {device} (compute capability {cc}) has no native bf16; use fp16 or auto")
    if key == "fp16":
        return torch.float16
    return torch.bfloat16 if native_bf16 else torch.float16


def converted_step_in_epoch(step_in_epoch: int, saved_batch: int, saved_world: int, batch: int, world: int,
                            where: str = "checkpoint") -> int:
    """Mid-epoch position of a checkpoint for a run with another global batch.

    :class:`ShardedBatches`: global step s covers the sample indices [s*B*W, (s+1)*B*W). A checkpoint
    written after s0 steps of the epoch by W0 processes of batch B0 has consumed exactly

        n = s0 * B0 * W0

    samples of it. A run with W1 processes of batch B1 continues exactly at step s1 = n / (B1 * W1)
    when B1 * W1 divides n. Otherwise no step of the new run starts at sample n: replaying s0 (or any
    other step) would skip or repeat samples, so the resume is refused (ConfigError) with what to do.
    """
    s0, g0, g1 = int(step_in_epoch), int(saved_batch) * int(saved_world), int(batch) * int(world)
    n = s0 * g0
    if n % g1:
        raise ConfigError(
            f"{where}: stopped after {s0} steps of its epoch = {n} samples ({_procs(saved_world)} x batch "
            f"{saved_batch}); this run's global batch is {g1} ({_procs(world)} x batch {batch}) and does not "
            f"divide {n}, so the position cannot be converted exactly: resume with {_procs(saved_world)} x batch "
            f"{saved_batch}, or from an end-of-epoch checkpoint")
    return n // g1


# ------------------------------------------------------------------------------------------------
# models
# ------------------------------------------------------------------------------------------------
def set_train_mode(net: nn.Module, train: bool, freeze_bn: bool = False) -> None:
    net.train(train)
    if train and freeze_bn:
        for m in net.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.eval()


def freeze(net: TrackerNet) -> TrackerNet:
    """Frozen teacher: no parameter needs grad, eval mode, and ``train()`` cannot switch it back."""
    for p in net.parameters():
        p.requires_grad_(False)
    net.eval()
    net.train = types.MethodType(lambda self, mode=True: self, net)
    return net


def build_teacher(section: Mapping, path: Optional[str]) -> TrackerNet:
    """Load the frozen teacher and check that the file is the architecture the config names."""
    if not path:
        raise ConfigError("distillation needs a teacher checkpoint: pass --teacher PATH (or set teacher.checkpoint)")
    want = NetConfig(**{k: section[k] for k in ARCH_FIELDS if k in section})  # absent: NetConfig's default
    obj = read_checkpoint_file(path)
    sd, kind, meta = extract_state_dict(obj, path)
    if kind == "mae":
        raise ConfigError(f"teacher {path}: MAE backbone weights, not a trained tracker")
    if meta.get("config"):
        got, fields = NetConfig.from_dict(meta["config"]), ARCH_FIELDS
    else:  # an official file: read the sizes from the tensor shapes (the head count leaves no trace)
        got, fields = infer_config(sd, path), tuple(f for f in ARCH_FIELDS if f != "num_heads")
    diff = [f"{k} {getattr(got, k)} (config: {getattr(want, k)})" for k in fields
            if getattr(got, k) != getattr(want, k)]
    if diff:
        raise ConfigError(f"teacher {path} does not match the config's teacher: " + ", ".join(diff))
    net = TrackerNet(want)
    load_checkpoint(net, {"net": sd})
    return freeze(net)


def ce_keep_ratio(epoch: int, base: float, start: int, warm: int) -> float:
    """Candidate-elimination keep ratio of epoch ``epoch`` (1-based): 1 before ``start``, cosine to
    ``base`` over ``warm`` epochs, then ``base`` (docs/method.md §1.5)."""
    if epoch < start:
        return 1.0
    if epoch >= start + warm:
        return base
    return base + (1.0 - base) * 0.5 * (1.0 + math.cos(math.pi * (epoch - start) / warm))


# ------------------------------------------------------------------------------------------------
# data
# ------------------------------------------------------------------------------------------------
def _build_datasets(specs: Iterable[Mapping], info: ddp.DistInfo):
    sets, weights = [], []
    for spec in specs:
        spec = dict(spec)
        weight = float(spec.pop("weight", 1.0))
        optional = bool(spec.pop("optional", False))
        gen = spec.pop("generate", None)
        root = spec.get("root")
        if gen and root:
            _ensure_generated(spec["type"], root, gen, info)
        if optional and root and not os.path.isdir(root):
            log.warning("optional %s dataset not found, skipped: %s", spec.get("type"), root)
            continue
        sets.append(build_dataset(spec))
        weights.append(weight)
    return sets, weights


TRAIN_SPLITS = {"lasot": "train", "got10k": "train", "trackingnet": "train"}


def _ensure_generated(layout: str, root: str, gen: Mapping, info: ddp.DistInfo) -> None:
    """Generate a missing synthetic dataset once, visible to every rank (collective: all ranks call it).

    Global rank 0 generates it. A rank that still does not see ``root`` afterwards is on a node that
    does not share the folder: the lowest such rank of each host generates its own copy (the data are
    a pure function of the ``generate`` settings, so every copy is the same), with a warning.
    """
    if info.is_main and not os.path.isdir(root):
        _generate(layout, root, gen)
    ddp.barrier(info)
    missing = ddp.ranks_not_seeing(root, info, wait_s=ddp.VISIBILITY_WAIT_S)
    if not missing:
        return
    if info.is_main:
        log.warning("generated dataset %s is not visible to %s (no shared filesystem): generating the same data on "
                    "those nodes", root, ddp.describe_ranks(missing, info))
    first = {}
    for r in missing:
        first.setdefault(info.hosts[r], r)
    if info.rank in first.values():
        _generate(layout, root, gen)
    ddp.barrier(info)
    still = ddp.ranks_not_seeing(root, info)
    if still:
        raise RuntimeError(f"dataset root {root} is still missing on {ddp.describe_ranks(still, info)} after "
                           "generating it there")


def _generate(layout: str, root: str, gen: Mapping) -> None:
    """Create a synthetic dataset in ``layout`` at ``root`` (a recipe with generated data needs no download).

    ``gen``: ``sequences``, ``frames``, ``seed``, optional ``splits`` (default: the layout's training
    split) and ``image_size`` [W, H]; see :func:`loretrack_plugin.synthetic.make_dataset`.
    """
    from ..synthetic import make_dataset  # imported lazily: only recipes with generated data need it
    unknown = sorted(set(gen) - {"sequences", "frames", "seed", "splits", "image_size"})
    if unknown:
        raise ConfigError(f"dataset generate: unknown keys {unknown}")
    log.info("generating synthetic %s data at %s", layout, root)
    make_dataset(layout, root, int(gen.get("sequences", 20)), int(gen.get("frames", 60)), int(gen.get("seed", 0)),
                 splits=gen.get("splits", TRAIN_SPLITS.get(layout)), image_size=gen.get("image_size"))


# ------------------------------------------------------------------------------------------------
# trainer
# ------------------------------------------------------------------------------------------------
class Trainer:
    """Build everything from a config; :meth:`fit` runs the epochs and returns the final stats.

    Args:
        config: YAML path or dict (see :mod:`.config`); ``overrides``: ``"a.b=value"`` strings.
        mode: ``"train"`` (task loss only) or ``"distill"`` (needs a teacher).
        teacher: teacher checkpoint path (overrides ``teacher.checkpoint``).
        output_dir: overrides ``run.output_dir``. ``resume``: checkpoint path, or ``True`` for
            ``<output_dir>/checkpoints/latest.pth.tar``.
        max_steps: stop after this many optimiser steps in total (a checkpoint is still written).
    """

    def __init__(self, config: Union[str, Mapping], mode: str = "train", teacher: Optional[str] = None,
                 output_dir: Optional[str] = None, resume: Union[str, bool, None] = None,
                 overrides: Iterable[str] = (), max_steps: Optional[int] = None, progress: Optional[bool] = None):
        if mode not in ("train", "distill"):
            raise ValueError(f"mode {mode!r}: expected 'train' or 'distill'")
        extra = list(overrides)
        if output_dir is not None:
            extra.append({"run": {"output_dir": os.fspath(output_dir)}})
        if teacher is not None:
            extra.append({"teacher": {"checkpoint": os.fspath(teacher)}})
        self.cfg = load_config(config, extra)
        self.mode = mode
        self.max_steps = max_steps
        self.out_dir = self.cfg["run"]["output_dir"]
        self.ckpt_dir = os.path.join(self.out_dir, "checkpoints")
        # the order matters: the student is initialised from run.seed on every process, then each process
        # reseeds (drop path) before the teacher and everything after it are built
        self._setup_processes(progress)
        self.student = self._build_student()
        self.teacher = self._build_teacher()
        self.model = self._wrap_for_processes()
        self.actor = self._build_actor()
        self._build_optimiser()
        self.train_sampler, self.batches, self.loader = self._build_loader("train")
        self.val_loader = None
        if self.cfg["data"]["val"]["datasets"]:
            self.val_sampler, self.val_batches, self.val_loader = self._build_loader("val")

        self.epoch = 0           # completed epochs
        self.step = 0            # optimiser steps so far
        self.step_in_epoch = 0   # steps done in the epoch in progress (mid-epoch checkpoints)
        self.corrupt_count = 0
        self._corrupt_seen = set()
        self.history: List[dict] = []
        self.step_losses: List[float] = []  # total loss of every step run by this object
        self.writer = None
        if resume:
            self.resume(os.path.join(self.ckpt_dir, "latest.pth.tar") if resume is True else resume)

    # ---- construction ------------------------------------------------------------------------
    def _setup_processes(self, progress: Optional[bool]) -> None:
        """Threads, the process group and this process's device; warns when ``run.output_dir`` is not
        shared by every node (only global rank 0 writes checkpoints)."""
        run = self.cfg["run"]
        if run["threads"]:
            torch.set_num_threads(int(run["threads"]))
        self.dist = ddp.setup(ddp.parse_device(run["device"]).type)
        self.device = ddp.resolve_device(run["device"], self.dist)
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = bool(run["cudnn_benchmark"])  # fixed input sizes: autotune once
        self.show_progress = (run["progress"] if progress is None else progress) and self.dist.is_main
        self.unshared_ranks = ddp.shared_dir_probe(self.out_dir, self.dist)
        if self.unshared_ranks and self.dist.is_main:
            log.warning("run.output_dir %s is not shared with %s: only global rank 0 writes checkpoints, so --resume "
                        "will fail there; put run.output_dir on a filesystem every node mounts (or copy the "
                        "checkpoints to the same path on every node before resuming)", self.out_dir,
                        ddp.describe_ranks(self.unshared_ranks, self.dist))

    def _build_student(self) -> TrackerNet:
        """The trained network: identical initialisation on every process (``run.seed``), ``model.init``
        weights, the score prior; then a per-process RNG (drop path)."""
        run, m = self.cfg["run"], self.cfg["model"]
        torch.manual_seed(run["seed"])
        student = TrackerNet(NetConfig(**net_kwargs(m)))
        stem = student.backbone.patch_embed
        if isinstance(stem, ConvStem):
            if m["stem_init"]:
                load_pretrained_stem(stem, None if m["stem_init"] == "pretrained" else m["stem_init"])
            if m["freeze_stem"]:
                stem.freeze()
        if m["init"]:
            m["init"] = shipped.resolve(m["init"])
            rep = load_checkpoint(student, m["init"])
            for note in rep.notes:
                log.info("model.init %s: %s", m["init"], note)
        if m["score_prior"] is not None:
            prior = float(m["score_prior"])
            if not 0.0 < prior < 1.0:
                raise ConfigError(f"model.score_prior={prior} must be in (0, 1)")
            with torch.no_grad():
                student.box_head.conv5_ctr.bias.fill_(-math.log((1.0 - prior) / prior))
        # the 197-row ImageNet table and the cls token never enter forward (docs/method.md, pitfall P9)
        for p in (student.backbone.cls_token, student.backbone.pos_embed):
            p.requires_grad_(False)
        if m["freeze_backbone"]:
            student.backbone.requires_grad_(False)
        student.to(self.device)
        torch.manual_seed(run["seed"] + self.dist.rank)
        return student

    def _build_teacher(self) -> Optional[TrackerNet]:
        """The frozen teacher of ``distill`` (None for ``train``)."""
        if self.mode != "distill":
            return None
        t = self.cfg["teacher"]
        t["checkpoint"] = shipped.resolve(t["checkpoint"])
        return build_teacher(t, t["checkpoint"]).to(self.device)

    def _wrap_for_processes(self) -> nn.Module:
        """The module the actor calls: the student, or its DistributedDataParallel wrapper (SyncBatchNorm
        when asked, on GPUs) in a multi-process run."""
        run = self.cfg["run"]
        if not self.dist.enabled:
            return self.student
        if run["sync_bn"] and self.device.type == "cuda":
            self.student = nn.SyncBatchNorm.convert_sync_batchnorm(self.student)
        return nn.parallel.DistributedDataParallel(
            self.student, device_ids=[self.device.index] if self.device.type == "cuda" else None,
            find_unused_parameters=bool(run["ddp_find_unused_parameters"]))

    def _build_actor(self):
        L = self.cfg["loss"]
        if self.mode == "distill":
            return DistillActor(self.model, self.teacher, L["giou"], L["l1"], L["focal"], L["qkv"], L["disc"],
                                antialias=self.cfg["data"]["student_antialias"],
                                teacher_forward=self.cfg["teacher"]["forward"])
        return TrackingActor(self.model, L["giou"], L["l1"], L["focal"])

    def _build_optimiser(self) -> None:
        """AdamW (head at ``lr``, backbone at ``lr * backbone_lr_mult``), StepLR, precision and AMP scaler;
        warns when the global batch is not ``optim.reference_batch``."""
        o = self.cfg["optim"]
        head = [p for n, p in self.student.named_parameters() if "backbone" not in n and p.requires_grad]
        backbone = [p for n, p in self.student.named_parameters() if "backbone" in n and p.requires_grad]
        self.optimizer = torch.optim.AdamW([{"params": head, "lr": o["lr"]},
                                            {"params": backbone, "lr": o["lr"] * o["backbone_lr_mult"]}],
                                           lr=o["lr"], weight_decay=o["weight_decay"])
        self.scheduler = torch.optim.lr_scheduler.StepLR(self.optimizer, step_size=o["lr_drop_epoch"],
                                                         gamma=o["lr_gamma"])
        self.params = head + backbone
        self.amp_dtype = amp_dtype(o["amp"], self.device)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp_dtype == torch.float16)
        if self.dist.is_main:
            log.info("precision: %s on %s", {None: "fp32", torch.bfloat16: "bf16 autocast",
                                             torch.float16: "fp16 autocast + GradScaler"}[self.amp_dtype], self.device)
        self.global_batch = int(o["batch_size"]) * self.dist.world
        ref = o["reference_batch"]
        if ref and self.global_batch != int(ref) and self.dist.is_main:
            log.warning("global batch %d (optim.batch_size %d per process x %s) differs from "
                        "optim.reference_batch=%d (the published recipe: 4 GPUs x 32); the learning rates are not "
                        "scaled: set optim.lr for this batch yourself (linear rule: x%.3g) or set "
                        "optim.reference_batch", self.global_batch, o["batch_size"], _procs(self.dist.world),
                        int(ref), self.global_batch / int(ref))

    # ---- data --------------------------------------------------------------------------------
    def crop_specs(self):
        d = self.cfg["data"]
        net = self.cfg["teacher"] if self.mode == "distill" else self.cfg["model"]
        specs = []
        for key in ("template", "search"):
            c = d[key]
            size = c["size"] if c["size"] is not None else net[f"{key}_size"]
            if size != net[f"{key}_size"]:
                who = "teacher" if self.mode == "distill" else "model"
                raise ConfigError(f"data.{key}.size={size} differs from {who}.{key}_size={net[key + '_size']}")
            specs.append(CropSpec(int(size), float(c["factor"]), float(c["center_jitter"]), float(c["scale_jitter"])))
        return specs

    def _build_loader(self, split: str):
        d = self.cfg["data"]
        part = d[split]
        if split == "train" and not part["datasets"]:
            raise ConfigError("data.train.datasets is empty")
        sets, weights = _build_datasets(part["datasets"], self.dist)
        if not sets:
            raise ConfigError(f"data.{split}: none of the datasets is available")
        tz, sx = self.crop_specs()
        proc = PairProcessing(tz, sx, train=split == "train", grayscale_prob=d["grayscale_prob"],
                              flip_prob=d["flip_prob"], crop_flip_prob=d["crop_flip_prob"],
                              brightness_jitter=d["brightness_jitter"], augment=Augment.from_config(d["augment"]))
        seed = self.cfg["run"]["seed"] + (0 if split == "train" else 1_000_003)
        sampler = PairSampler(sets, weights, proc, part["samples_per_epoch"], max_gap=d["max_gap"], seed=seed,
                              min_length=d["min_sequence_length"], min_visible=d["min_visible"])
        # the epoch travels with the indices (epoch, i): persistent workers keep their copy of the sampler
        batches = ShardedBatches(len(sampler), self.cfg["optim"]["batch_size"], self.dist.rank, self.dist.world,
                                 epoch=0)
        # a private generator: creating a loader iterator must not draw from the global RNG (drop path),
        # or a resumed run would diverge; the samples themselves never depend on it. Training workers
        # persist across epochs (validation runs rarely: its workers are started when needed).
        workers = int(d["num_workers"])
        loader = torch.utils.data.DataLoader(sampler, batch_sampler=batches, num_workers=workers,
                                             collate_fn=collate, pin_memory=self.device.type == "cuda",
                                             worker_init_fn=worker_init if workers else None,
                                             persistent_workers=workers > 0 and split == "train",
                                             generator=torch.Generator().manual_seed(seed))
        return sampler, batches, loader

    def _to_device(self, batch: Mapping) -> dict:
        return {k: (v.to(self.device, non_blocking=True) if isinstance(v, torch.Tensor) else v)
                for k, v in batch.items()}

    # ---- one step ----------------------------------------------------------------------------
    def keep_ratio(self, epoch: int) -> Optional[float]:
        m, o = self.cfg["model"], self.cfg["optim"]
        if not m["ce_loc"]:
            return None
        return ce_keep_ratio(epoch, m["ce_keep_ratio"], o["ce_start_epoch"], o["ce_warm_epochs"])

    def forward_loss(self, batch: Mapping, epoch: Optional[int] = None):
        """(loss, stats) of a batch in the current train/eval mode (no optimiser step)."""
        batch = self._to_device(batch)
        with torch.autocast(self.device.type, dtype=self.amp_dtype or torch.float32, enabled=self.amp_dtype is not None):
            return self.actor(batch, self.keep_ratio(self.epoch + 1 if epoch is None else epoch))

    def backward(self, batch: Mapping, epoch: Optional[int] = None) -> Dict[str, float]:
        """Forward + NaN check (across processes) + backward; gradients are left in ``.grad``."""
        loss, stats = self.forward_loss(batch, epoch)
        keys = sorted(stats)
        # loss terms, "this process is non-finite" and the corrupt-frame count in one vector: one
        # all-reduce and one host synchronisation per step (torch.full writes on the device, no copy)
        bad = (~torch.isfinite(loss.detach())).float().reshape(())
        corrupt = torch.full((), float(sum(len(c) for c in batch.get("corrupt", []))), device=loss.device)
        vec = torch.stack([stats[k].detach().float().reshape(()) for k in keys] + [bad, corrupt])
        vals = ddp.all_reduce_sum(vec, self.dist).tolist()
        if vals[-2] > 0:
            where = f"epoch {self.epoch + 1}, step {self.step_in_epoch + 1} of the epoch (global step {self.step + 1})"
            if torch.isfinite(loss):
                raise NonFiniteLossError(f"non-finite loss on another process at {where}")
            ids = batch.get("sample_id", [])
            raise NonFiniteLossError(f"non-finite loss ({loss.item()}) at {where}; samples: {', '.join(map(str, ids))}")
        self._note_corrupt(batch, int(vals[-1]))
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        world = self.dist.world
        return {k: vals[i] / world for i, k in enumerate(keys)}

    def train_step(self, batch: Mapping, epoch: Optional[int] = None) -> Dict[str, float]:
        """One optimiser step on ``batch``; returns the (process-averaged) loss terms and grad norm."""
        stats = self.backward(batch, epoch)
        self.scaler.unscale_(self.optimizer)
        clip = self.cfg["optim"]["grad_clip"]
        gn = torch.nn.utils.clip_grad_norm_(self.params, clip if clip else float("inf"))
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.step += 1
        self.step_in_epoch += 1
        stats["grad_norm"] = float(gn)
        self.step_losses.append(stats["total"])
        return stats

    def _note_corrupt(self, batch: Mapping, total: int) -> None:
        self.corrupt_count += total
        for paths in batch.get("corrupt", []):
            for p in paths:
                if p not in self._corrupt_seen:
                    self._corrupt_seen.add(p)
                    log.warning("skipped an unreadable frame (training continues): %s", p)

    # ---- checkpoints -------------------------------------------------------------------------
    def _rng_state(self):
        state = {"torch": torch.get_rng_state()}
        if self.device.type == "cuda":
            state["cuda"] = torch.cuda.get_rng_state(self.device)
        return state

    def checkpoint_state(self) -> dict:
        rng = ddp.all_gather_objects(self._rng_state(), self.dist)
        return {"optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
                "scaler": self.scaler.state_dict(), "rng": rng, "step": self.step,
                "step_in_epoch": self.step_in_epoch, "mode": self.mode, "world_size": self.dist.world,
                "batch_size": int(self.cfg["optim"]["batch_size"]),
                "train_config": {k: v for k, v in self.cfg.items() if not k.startswith("_")},
                "stats": self.history[-1] if self.history else {}}

    def save(self, name: str) -> Optional[str]:
        state = self.checkpoint_state()  # collective: every process takes part
        if not self.dist.is_main:
            return None
        path = os.path.join(self.ckpt_dir, name)
        save_checkpoint(self.student, path, epoch=self.epoch, **state)
        return path

    def _copy(self, src: Optional[str], name: str) -> Optional[str]:
        """Atomically publish ``src`` under ``checkpoints/name`` (a hard link where possible)."""
        if src is None:
            return None
        dst = os.path.join(self.ckpt_dir, name)
        with atomic_path(dst) as tmp:
            os.remove(tmp)
            try:
                os.link(src, tmp)
            except OSError:
                shutil.copyfile(src, tmp)
        return dst

    def resume(self, path: str) -> None:
        """Continue from a training checkpoint (collective: every rank reads it).

        Another number of processes or batch size is accepted: at an epoch boundary as is, mid-epoch
        through :func:`converted_step_in_epoch` (exact, or refused). The per-process RNG states (drop
        path) are restored only when the number of processes is the same.
        """
        missing = ddp.ranks_not_seeing(path, self.dist)
        if missing and len(missing) < self.dist.world:
            raise ValueError(f"--resume {path}: the checkpoint is not visible to {ddp.describe_ranks(missing, self.dist)}"
                             ": every rank reads it, but only global rank 0 writes checkpoints; a multi-node run needs "
                             "run.output_dir on a filesystem every node shares (or copy the checkpoint to the same "
                             "path on every node)")
        obj = read_checkpoint_file(path)
        for key in ("optimizer", "scheduler", "step"):
            if key not in obj:
                raise ValueError(f"{path}: not a training checkpoint (no {key!r} entry); use model.init to start from "
                                 "its weights")
        load_checkpoint(self.student, obj)
        self.optimizer.load_state_dict(obj["optimizer"])
        self.scheduler.load_state_dict(obj["scheduler"])
        self._apply_schedule_from_config(path)
        if obj.get("scaler"):
            self.scaler.load_state_dict(obj["scaler"])
        self.epoch = int(obj.get("epoch") or 0)
        self.step = int(obj["step"])
        rng = obj.get("rng") or []
        saved_world = int(obj.get("world_size") or len(rng) or self.dist.world)
        batch = int(self.cfg["optim"]["batch_size"])
        saved_batch = int(obj.get("batch_size") or ((obj.get("train_config") or {}).get("optim") or {}).get("batch_size")
                          or batch)
        step_in_epoch = int(obj.get("step_in_epoch", 0))
        self.step_in_epoch = converted_step_in_epoch(step_in_epoch, saved_batch, saved_world, batch, self.dist.world,
                                                     where=path)
        if (saved_world, saved_batch) != (self.dist.world, batch) and self.dist.is_main:
            log.warning("%s was written by %s x batch %d, this run has %s x batch %d: %s", path,
                        _procs(saved_world), saved_batch, _procs(self.dist.world), batch,
                        f"epoch {self.epoch + 1} continues at sample {step_in_epoch * saved_batch * saved_world} "
                        f"(step {self.step_in_epoch} instead of {step_in_epoch})" if step_in_epoch
                        else "continuing at the next epoch")
        if len(rng) == self.dist.world:
            torch.set_rng_state(rng[self.dist.rank]["torch"])
            if self.device.type == "cuda" and "cuda" in rng[self.dist.rank]:
                torch.cuda.set_rng_state(rng[self.dist.rank]["cuda"], self.device)
        else:
            log.warning("%s was written by %d processes, this run has %d: RNG states not restored", path, len(rng),
                        self.dist.world)
        stats = obj.get("stats")
        if stats:
            self.history.append(stats)
        log.info("resumed from %s (epoch %d, step %d)", path, self.epoch, self.step)

    def _apply_schedule_from_config(self, where: str) -> None:
        """The config's ``optim.lr_drop_epoch`` and ``lr_gamma`` win over the checkpoint's.

        A resumed run may be given a new schedule (for example an earlier drop for a run that has
        plateaued). The learning rate already reached is kept; the next drop happens at the first
        epoch that is a multiple of the new ``lr_drop_epoch``.
        """
        o = self.cfg["optim"]
        step_size, gamma = int(o["lr_drop_epoch"]), float(o["lr_gamma"])
        old = (self.scheduler.step_size, self.scheduler.gamma)
        if old != (step_size, gamma):
            self.scheduler.step_size, self.scheduler.gamma = step_size, gamma
            if self.dist.is_main:
                log.info("%s: schedule changed on resume: lr_drop_epoch %d -> %d, lr_gamma %g -> %g", where,
                         old[0], step_size, old[1], gamma)

    def _should_save(self, epoch: int) -> bool:
        r, total = self.cfg["run"], self.cfg["optim"]["epochs"]
        return (epoch == total or (r["save_every"] and epoch % r["save_every"] == 0) or epoch in r["save_epochs"]
                or epoch > total - r["save_last"])

    # ---- loop --------------------------------------------------------------------------------
    def _tb(self):
        if self.writer is None and self.dist.is_main and self.cfg["run"]["tensorboard"]:
            from torch.utils.tensorboard import SummaryWriter
            self.writer = SummaryWriter(os.path.join(self.out_dir, "tensorboard"))
        return self.writer

    def _log_scalars(self, prefix: str, stats: Mapping[str, float], step: int) -> None:
        w = self._tb()
        if w is not None:
            for k, v in stats.items():
                w.add_scalar(f"{prefix}/{k}", v, step)

    def fit(self) -> dict:
        """Run the remaining epochs; returns ``{'checkpoint', 'output_dir', 'epochs', 'steps', 'train', 'val',
        'corrupt_images', 'samples_per_s'}`` (also written to ``<output_dir>/stats.json``)."""
        cfg = self.cfg
        total = cfg["optim"]["epochs"]
        if self.dist.is_main:
            os.makedirs(self.ckpt_dir, exist_ok=True)
            write_text(os.path.join(self.out_dir, "config.yaml"), dump_config(cfg))
        final = None
        published = False  # same value on every process (``final`` is None off the main process)
        val_stats: Dict[str, float] = {}
        sps = 0.0
        stopped = False
        try:
            while self.epoch < total and not stopped:
                epoch = self.epoch + 1
                epoch_stats, sps, stopped = self._run_epoch(epoch)
                if stopped:  # max_steps reached inside the epoch: a mid-epoch checkpoint
                    epoch_stats["partial"] = True
                    self.history.append(epoch_stats)
                    latest = self.save("latest.pth.tar")
                    final = self._copy(latest, f"OSTrack_ep{self.epoch:04d}_step{self.step}.pth.tar")
                    published = True
                    break
                self.epoch = epoch
                self.step_in_epoch = 0
                self.scheduler.step()
                v_every = cfg["data"]["val"]["every"]
                if self.val_loader is not None and v_every and (epoch % v_every == 0 or epoch == total):
                    val_stats = self.validate(epoch)
                    epoch_stats.update({f"val_{k}": v for k, v in val_stats.items()})
                self.history.append(epoch_stats)
                latest = self.save("latest.pth.tar")
                published = False
                if self._should_save(epoch):
                    final = self._copy(latest, f"OSTrack_ep{epoch:04d}.pth.tar")
                    published = True
            if not published:  # nothing left to run (a finished run resumed)
                final = self._copy(self.save("latest.pth.tar"), f"OSTrack_ep{self.epoch:04d}.pth.tar")
        finally:
            if self.writer is not None:
                self.writer.close()
                self.writer = None
        result = {"checkpoint": final, "output_dir": self.out_dir, "epochs": self.epoch, "steps": self.step,
                  "train": {k: v for k, v in (self.history[-1] if self.history else {}).items()
                            if not k.startswith("val_")},
                  "val": val_stats, "corrupt_images": self.corrupt_count, "samples_per_s": sps,
                  "history": self.history}
        if self.dist.is_main:
            write_json(os.path.join(self.out_dir, "stats.json"), result)
        return result

    def _run_epoch(self, epoch: int):
        cfg = self.cfg
        self.train_sampler.set_epoch(epoch)
        self.batches.epoch = epoch
        self.batches.start_step = self.step_in_epoch
        set_train_mode(self.student, True, cfg["model"]["freeze_bn"])
        sums: Dict[str, float] = {}
        window: Dict[str, float] = {}
        n = n_window = 0
        log_every = max(1, int(cfg["run"]["log_every"]))
        every_steps = int(cfg["run"]["save_every_steps"] or 0)
        bar = None
        if self.show_progress:
            from tqdm import tqdm
            bar = tqdm(total=self.batches.steps, initial=self.step_in_epoch, unit="it", dynamic_ncols=True,
                       desc=f"epoch {epoch}/{cfg['optim']['epochs']}")
        t0 = time.perf_counter()
        done = 0
        stopped = False
        try:
            for batch in self.loader:
                if self.max_steps is not None and self.step >= self.max_steps:
                    stopped = True
                    break
                stats = self.train_step(batch, epoch)
                done += 1
                n += 1
                n_window += 1
                for k, v in stats.items():
                    sums[k] = sums.get(k, 0.0) + v
                    window[k] = window.get(k, 0.0) + v
                if self.step % log_every == 0:
                    self._log_scalars("train", {k: v / n_window for k, v in window.items()}, self.step)
                    for i, g in enumerate(self.optimizer.param_groups):
                        self._log_scalars("lr", {("head", "backbone")[i]: g["lr"]}, self.step)
                    window, n_window = {}, 0
                if bar is not None:
                    bar.set_postfix(loss=f"{stats['total']:.3f}", iou=f"{stats['iou']:.3f}", refresh=False)
                    bar.update(1)
                if every_steps and self.step % every_steps == 0:
                    self.save("latest.pth.tar")
        finally:
            if bar is not None:
                bar.close()
        self.batches.start_step = 0
        elapsed = time.perf_counter() - t0
        sps = done * self.cfg["optim"]["batch_size"] * self.dist.world / elapsed if elapsed > 0 else 0.0
        epoch_stats = {k: v / max(n, 1) for k, v in sums.items()}
        epoch_stats.update({"epoch": epoch, "samples_per_s": sps, "corrupt_images": self.corrupt_count})
        self._log_scalars("epoch", epoch_stats, epoch)
        if self.dist.is_main:
            terms = ", ".join(f"{k} {v:.4g}" for k, v in sorted(epoch_stats.items()) if k not in ("epoch",))
            log.info("epoch %d: %s", epoch, terms)
        return epoch_stats, sps, stopped

    @torch.no_grad()
    def validate(self, epoch: int) -> Dict[str, float]:
        """Mean loss terms on the validation stream (network in eval mode)."""
        self.val_sampler.set_epoch(epoch)
        self.val_batches.epoch = epoch
        set_train_mode(self.student, False)
        sums: Dict[str, float] = {}
        n = 0
        for batch in self.val_loader:
            _, stats = self.forward_loss(batch, epoch)
            for k in sorted(stats):
                v = ddp.all_reduce_sum(stats[k].float().reshape(1).clone(), self.dist).item() / self.dist.world
                sums[k] = sums.get(k, 0.0) + v
            n += 1
        out = {k: v / max(n, 1) for k, v in sums.items()}
        self._log_scalars("val", out, epoch)
        if self.dist.is_main:
            log.info("validation after epoch %d: %s", epoch, ", ".join(f"{k} {v:.4g}" for k, v in sorted(out.items())))
        return out

    # ---- throughput ------------------------------------------------------------------------
    def _sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def profile_data(self, steps: int = 20) -> dict:
        """Samples/s of the training data loader alone against the training step alone.

        * loader: ``steps`` batches pulled from the training loader with nothing else running (the first
          batch, which includes starting the workers, is not timed), epoch 1 onwards;
        * step: ``steps`` optimiser steps (forward, loss, backward, update; precision as configured) on
          one batch, copied to the device beforehand; the device is synchronised around the timing.

        Rates are per process (x processes for the run): ``loader_samples_per_s`` below
        ``step_samples_per_s`` means the GPU would wait for data (``bound`` = ``"data"``; add
        ``data.num_workers``), above it the step is the limit (``"compute"``). The profiling steps are
        real steps on the in-memory network; nothing is written.
        """
        steps = int(steps)
        if steps < 1:
            raise ValueError(f"steps={steps}: must be a positive integer")
        B = int(self.cfg["optim"]["batch_size"])

        def stream():
            epoch = 1
            while True:
                self.train_sampler.set_epoch(epoch)
                self.batches.epoch, self.batches.start_step = epoch, 0
                yield from self.loader
                epoch += 1

        it = stream()
        first = next(it)
        t0 = time.perf_counter()
        for _ in range(steps):
            next(it)
        loader_s = time.perf_counter() - t0
        it.close()

        set_train_mode(self.student, True, self.cfg["model"]["freeze_bn"])
        batch = self._to_device(first)
        self.train_step(batch, 1)  # warm-up: allocator, cuDNN autotuning
        self._sync()
        t0 = time.perf_counter()
        for _ in range(steps):
            self.train_step(batch, 1)
        self._sync()
        step_s = time.perf_counter() - t0
        loader_sps, step_sps = steps * B / loader_s, steps * B / step_s
        return {"loader_samples_per_s": loader_sps, "step_samples_per_s": step_sps,
                "bound": "data" if loader_sps < step_sps else "compute", "steps": steps, "batch_size": B,
                "processes": self.dist.world, "num_workers": int(self.cfg["data"]["num_workers"]),
                "device": str(self.device),
                "precision": {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[self.amp_dtype]}

    def close(self) -> None:
        ddp.teardown(self.dist)


def _run(config, mode: str, teacher=None, **kw) -> dict:
    trainer = Trainer(config, mode=mode, teacher=teacher, **kw)
    try:
        return trainer.fit()
    finally:
        trainer.close()


def train(config: Union[str, Mapping], *, output_dir: Optional[str] = None, resume: Union[str, bool, None] = None,
          overrides: Iterable[str] = (), max_steps: Optional[int] = None, progress: Optional[bool] = None) -> dict:
    """Plain OSTrack training (teachers, same-resolution baselines). Returns the stats dict of
    :meth:`Trainer.fit`; ``result['checkpoint']`` is the final checkpoint."""
    return _run(config, "train", output_dir=output_dir, resume=resume, overrides=overrides, max_steps=max_steps,
                progress=progress)


def distill(config: Union[str, Mapping], teacher: Optional[str] = None, *, output_dir: Optional[str] = None,
            resume: Union[str, bool, None] = None, overrides: Iterable[str] = (), max_steps: Optional[int] = None,
            progress: Optional[bool] = None) -> dict:
    """LoReTrack distillation of the student in ``config`` from the frozen ``teacher`` checkpoint."""
    return _run(config, "distill", teacher=teacher, output_dir=output_dir, resume=resume, overrides=overrides,
                max_steps=max_steps, progress=progress)
