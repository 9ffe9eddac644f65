"""Masked-autoencoder (MAE) pre-training of the tracker's ViT on real frames: the project's own
stand-in for the ImageNet MAE weights the published method starts from.

What runs (He et al.'s recipe, at the size of the network being pre-trained):

* an image is a random resized crop of a frame (area 20–100 %, aspect 3/4–4/3, horizontal flip),
  ``img_size`` px square, ImageNet-normalised;
* it is cut into 16 px patches; ``mask_ratio`` of them (75 %) are dropped at random per image; the
  encoder — exactly the tracker's patch embedding, blocks and final norm — sees only the visible
  patches plus a fixed 2-D sine-cosine position table;
* a small decoder (``decoder_dim`` wide, ``decoder_depth`` blocks) receives the encoded patches and a
  learned mask token at every dropped position, and predicts each patch's pixels;
* the loss is the mean squared error on the dropped patches, against pixels normalised per patch
  (``norm_pix``).

The result is written in the MAE layout (``{'model': {cls_token, pos_embed, patch_embed.*, blocks.*,
norm.*}}``), which :func:`loretrack_plugin.load_checkpoint` loads as the initialisation of a tracker
of any resolution (the table is resized to both token grids; the head keeps its random init).

Samples are a pure function of (seed, step, index), and ``latest.pth.tar`` holds the encoder,
decoder, optimiser and step, so an interrupted run resumes exactly where it stopped.
"""
from __future__ import annotations

import logging
import math
import os
import time
from typing import Dict, Iterable, Mapping, Optional, Sequence, Union

import cv2
import numpy as np
import torch
import torch.nn as nn

from ..config import PATCH, NetConfig
from ..data.readers import TrackingDataset, build_dataset
from ..formats import CorruptImageError
from ..models.vit import Block, LayerNorm, OneStreamViT
from ..tracking.inputs import normalise
from ..utils.files import atomic_path, write_json

log = logging.getLogger("loretrack")


def sincos_pos_embed(dim: int, grid: int, cls_token: bool = True) -> torch.Tensor:
    """Fixed 2-D sine-cosine table (1, [1 +] grid*grid, dim): half the channels encode the row,
    half the column, each as sin/cos of the position at geometrically spaced frequencies."""
    if dim % 4:
        raise ValueError(f"sine-cosine position table needs a width divisible by 4, got {dim}")
    omega = 1.0 / 10000 ** (torch.arange(dim // 4, dtype=torch.float64) / (dim / 4.0))
    ys, xs = torch.meshgrid(torch.arange(grid, dtype=torch.float64), torch.arange(grid, dtype=torch.float64),
                            indexing="ij")

    def enc(pos):
        out = pos.reshape(-1, 1) * omega.reshape(1, -1)
        return torch.cat([out.sin(), out.cos()], dim=1)

    table = torch.cat([enc(ys), enc(xs)], dim=1).float()
    if cls_token:
        table = torch.cat([torch.zeros(1, dim), table], dim=0)
    return table.unsqueeze(0)


class MaskedAutoencoder(nn.Module):
    """The tracker's ViT encoder (``encoder``, an :class:`OneStreamViT`) plus a light MAE decoder."""

    def __init__(self, cfg: NetConfig, decoder_dim: int = 128, decoder_depth: int = 2, decoder_heads: int = 4,
                 mask_ratio: float = 0.75, norm_pix: bool = True):
        super().__init__()
        if not 0.0 < mask_ratio < 1.0:
            raise ValueError(f"mask_ratio={mask_ratio} must be in (0, 1)")
        self.cfg = cfg
        self.grid = cfg.pretrain_grid
        self.mask_ratio, self.norm_pix = float(mask_ratio), bool(norm_pix)
        self.encoder = OneStreamViT(cfg)
        with torch.no_grad():
            self.encoder.pos_embed.copy_(sincos_pos_embed(cfg.embed_dim, self.grid))
        self.encoder.pos_embed.requires_grad_(False)  # fixed, as in MAE
        for p in (self.encoder.pos_embed_x, self.encoder.pos_embed_z):
            p.requires_grad_(False)  # tracker tables: not used here
        self.decoder_embed = nn.Linear(cfg.embed_dim, decoder_dim)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, decoder_dim))
        self.register_buffer("decoder_pos", sincos_pos_embed(decoder_dim, self.grid, cls_token=False), persistent=False)
        self.decoder_blocks = nn.ModuleList(Block(decoder_dim, decoder_heads, 4.0) for _ in range(decoder_depth))
        self.decoder_norm = LayerNorm(decoder_dim)
        self.decoder_pred = nn.Linear(decoder_dim, PATCH * PATCH * 3)
        nn.init.normal_(self.mask_token, std=0.02)
        for m in [self.decoder_embed, self.decoder_pred, *self.decoder_blocks.modules()]:
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    def patchify(self, imgs: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) -> (B, L, 16*16*3), patches in raster order, pixels (row, col, channel)."""
        B, C, H, W = imgs.shape
        g = H // PATCH
        x = imgs.reshape(B, C, g, PATCH, g, PATCH)
        return x.permute(0, 2, 4, 3, 5, 1).reshape(B, g * g, PATCH * PATCH * C)

    def forward(self, imgs: torch.Tensor, generator: Optional[torch.Generator] = None):
        """Returns (loss, predictions (B, L, 768), mask (B, L) with 1 = dropped)."""
        B = imgs.shape[0]
        enc = self.encoder
        x = enc.patch_embed(imgs) + enc.pos_embed[:, 1:]
        L, C = x.shape[1], x.shape[2]
        keep = max(1, int(round(L * (1.0 - self.mask_ratio))))
        noise = torch.rand(B, L, generator=generator, device=imgs.device)
        shuffle = noise.argsort(dim=1)
        restore = shuffle.argsort(dim=1)
        kept = shuffle[:, :keep]
        x = x.gather(1, kept.unsqueeze(-1).expand(-1, -1, C))
        x = torch.cat([(enc.cls_token + enc.pos_embed[:, :1]).expand(B, -1, -1), x], dim=1)
        for blk in enc.blocks:
            x, _, _ = blk(x)
            x = blk.forward_mlp(x)
        x = enc.norm(x)
        y = self.decoder_embed(x[:, 1:])
        D = y.shape[-1]
        y = torch.cat([y, self.mask_token.expand(B, L - keep, -1)], dim=1)
        y = y.gather(1, restore.unsqueeze(-1).expand(-1, -1, D)) + self.decoder_pos
        for blk in self.decoder_blocks:
            y, _, _ = blk(y)
            y = blk.forward_mlp(y)
        pred = self.decoder_pred(self.decoder_norm(y))
        target = self.patchify(imgs)
        if self.norm_pix:
            mean, var = target.mean(-1, keepdim=True), target.var(-1, keepdim=True)
            target = (target - mean) / (var + 1e-6).sqrt()
        mask = torch.ones(B, L, device=imgs.device)
        mask[:, :keep] = 0
        mask = mask.gather(1, restore)
        loss = (((pred - target) ** 2).mean(-1) * mask).sum() / mask.sum()
        return loss, pred, mask

    def backbone_state_dict(self) -> Dict[str, torch.Tensor]:
        """The encoder in the MAE layout (what ``load_checkpoint`` accepts as initialisation)."""
        keep = ("cls_token", "pos_embed")
        return {k: v.detach().cpu().clone() for k, v in self.encoder.state_dict().items()
                if k in keep or k.startswith(("patch_embed.", "blocks.", "norm."))}


class FrameCrops(torch.utils.data.Dataset):
    """Random resized crops of the frames of some datasets; item ``i`` (a global sample number:
    step * batch + position) is a pure function of (seed, i)."""

    def __init__(self, datasets: Sequence[TrackingDataset], img_size: int, seed: int = 0, stride: int = 1,
                 scale=(0.2, 1.0), ratio=(3 / 4, 4 / 3)):
        self.datasets = list(datasets)
        self.frames = [(d, i, f) for d, ds in enumerate(self.datasets) for i in range(len(ds))
                       for f in range(0, len(ds.sequence_info(i)), max(1, int(stride)))]
        if not self.frames:
            raise ValueError("MAE pre-training: the datasets hold no frame")
        self.img_size, self.seed, self.scale, self.ratio = int(img_size), int(seed), scale, ratio

    def __len__(self):
        return len(self.frames)

    def crop(self, img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        H, W = img.shape[:2]
        for _ in range(10):
            area = rng.uniform(*self.scale) * H * W
            aspect = math.exp(rng.uniform(math.log(self.ratio[0]), math.log(self.ratio[1])))
            w, h = int(round(math.sqrt(area * aspect))), int(round(math.sqrt(area / aspect)))
            if 0 < w <= W and 0 < h <= H:
                x, y = int(rng.integers(0, W - w + 1)), int(rng.integers(0, H - h + 1))
                break
        else:  # fall back to the largest centred square
            w = h = min(H, W)
            x, y = (W - w) // 2, (H - h) // 2
        patch = cv2.resize(img[y:y + h, x:x + w], (self.img_size, self.img_size), interpolation=cv2.INTER_LINEAR)
        if rng.random() < 0.5:
            patch = patch[:, ::-1]
        return patch

    def __getitem__(self, index: int) -> torch.Tensor:
        rng = np.random.default_rng([self.seed, int(index)])
        for _ in range(20):
            d, i, f = self.frames[int(rng.integers(len(self.frames)))]
            try:
                img = self.datasets[d].frame(i, f)
            except CorruptImageError as e:
                log.warning("MAE pre-training: skipped an unreadable frame: %s", e.path)
                continue
            x = self.crop(img, rng).astype(np.float32).transpose(2, 0, 1) / 255.0
            return torch.from_numpy(np.ascontiguousarray(normalise(x, axis=-3)))
        raise RuntimeError(f"MAE pre-training: 20 unreadable frames in a row (sample {index})")


def frame_sources(dataset_specs: Iterable[Mapping]) -> list:
    """The frames of a config's training datasets, each folder once: pair modes, weights and
    generation options do not matter to frame-level pre-training."""
    out = []
    for d in dataset_specs:
        d = {k: v for k, v in dict(d).items() if k not in ("weight", "pairs", "pair_options", "generate", "optional")}
        if d not in out:
            out.append(d)
    return out


def cosine_lr(step: int, total: int, warmup: int, base: float, floor: float = 0.0) -> float:
    """Linear warm-up over ``warmup`` steps, then a half cosine from ``base`` down to ``floor``."""
    if step < warmup:
        return base * (step + 1) / warmup
    t = (step - warmup) / max(1, total - warmup)
    return floor + (base - floor) * 0.5 * (1.0 + math.cos(math.pi * min(1.0, t)))


def pretrain_mae(net_cfg: NetConfig, datasets: Iterable[Union[Mapping, TrackingDataset]], output_dir: str,
                 options: Optional[Mapping] = None, seed: int = 0, resume: bool = True, progress: bool = True,
                 max_steps: Optional[int] = None, num_workers: int = 1) -> Dict:
    """Pre-train ``net_cfg``'s ViT as a masked autoencoder on the frames of ``datasets``.

    Writes ``output_dir/checkpoints/latest.pth.tar`` (the full state, every ``save_every_steps``),
    ``output_dir/backbone.pth`` (the encoder in the MAE layout) and ``output_dir/stats.json``.
    Returns the stats dict. ``max_steps`` stops early (a checkpoint is still written).
    """
    from .config import DEFAULTS
    opt = dict(DEFAULTS["mae"])
    unknown = sorted(set(options or {}) - set(opt))
    if unknown:
        raise ValueError(f"MAE options: unknown keys {unknown} (known: {sorted(opt)})")
    opt.update(options or {})
    cfg = net_cfg.replace(pretrain_img_size=int(opt["img_size"]))
    sets = [build_dataset(d) for d in datasets]
    data = FrameCrops(sets, cfg.pretrain_img_size, seed=seed, stride=int(opt["stride"]))
    torch.manual_seed(seed)
    model = MaskedAutoencoder(cfg, opt["decoder_dim"], opt["decoder_depth"], opt["decoder_heads"],
                              opt["mask_ratio"], opt["norm_pix"])
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    optim = torch.optim.AdamW([{"params": decay, "weight_decay": float(opt["weight_decay"])},
                               {"params": no_decay, "weight_decay": 0.0}], lr=float(opt["lr"]), betas=(0.9, 0.95))
    ckpt_dir = os.path.join(output_dir, "checkpoints")
    latest = os.path.join(ckpt_dir, "latest.pth.tar")
    step, losses, seconds = 0, [], 0.0
    if resume and os.path.isfile(latest):
        state = torch.load(latest, map_location="cpu", weights_only=False)
        model.load_state_dict(state["model"])
        optim.load_state_dict(state["optimizer"])
        step, losses, seconds = int(state["step"]), list(state.get("losses", [])), float(state.get("seconds", 0.0))
        torch.set_rng_state(state["rng"])
        log.info("MAE: resumed from %s at step %d", latest, step)
    total = int(opt["steps"])
    B = int(opt["batch_size"])
    gen = torch.Generator()  # the masks of step s: seeded by (seed, s), so a resumed run draws the same

    def save():
        os.makedirs(ckpt_dir, exist_ok=True)
        with atomic_path(latest) as tmp:
            torch.save({"model": model.state_dict(), "optimizer": optim.state_dict(), "step": step, "losses": losses,
                        "seconds": seconds, "rng": torch.get_rng_state(), "options": opt,
                        "net_config": cfg.to_dict()}, tmp)

    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=total, initial=step, unit="step", dynamic_ncols=True, desc="MAE pre-training")
    model.train()
    every = int(opt["save_every_steps"])
    stop = total if max_steps is None else min(total, int(max_steps))
    loader = torch.utils.data.DataLoader(data, batch_sampler=_StepBatches(step, stop, B), num_workers=num_workers,
                                         persistent_workers=False)
    try:
        t0 = time.perf_counter()
        for imgs in loader:
            lr = cosine_lr(step, total, int(opt["warmup_steps"]), float(opt["lr"]), 0.01 * float(opt["lr"]))
            for g in optim.param_groups:
                g["lr"] = lr
            gen.manual_seed(seed * 1_000_003 + step)
            loss, _, _ = model(imgs, generator=gen)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"MAE pre-training: non-finite loss at step {step + 1}")
            optim.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optim.step()
            step += 1
            losses.append(loss.item())
            now = time.perf_counter()
            seconds += now - t0
            t0 = now
            if bar is not None:
                bar.set_postfix(loss=f"{loss.item():.3f}", lr=f"{lr:.2e}", refresh=False)
                bar.update(1)
            elif step % 50 == 0:
                log.info("MAE step %d/%d: loss %.4f (mean of last 50: %.4f), lr %.2e, %.1f images/s", step, total,
                         loss.item(), float(np.mean(losses[-50:])), lr, step * B / max(seconds, 1e-9))
            if every and step % every == 0:
                save()
    finally:
        if bar is not None:
            bar.close()
    save()
    backbone = os.path.join(output_dir, "backbone.pth")
    with atomic_path(backbone) as tmp:
        torch.save({"model": model.backbone_state_dict(),
                    "loretrack_backbone": {"method": "mae", "net_config": cfg.to_dict(), "steps": step,
                                           "options": opt, "seed": seed}}, tmp)
    stats = {"backbone": backbone, "steps": step, "seconds": seconds, "images_per_s": step * B / max(seconds, 1e-9),
             "loss_first_50": float(np.mean(losses[:50])) if losses else None,
             "loss_last_50": float(np.mean(losses[-50:])) if losses else None, "options": opt,
             "net_config": cfg.to_dict()}
    write_json(os.path.join(output_dir, "stats.json"), stats)
    return stats


class _StepBatches(torch.utils.data.Sampler):
    """Batches of global sample numbers for steps ``start`` .. ``stop - 1``."""

    def __init__(self, start: int, stop: int, batch: int):
        self.start, self.stop, self.batch = int(start), int(stop), int(batch)

    def __len__(self):
        return max(0, self.stop - self.start)

    def __iter__(self):
        for s in range(self.start, self.stop):
            yield list(range(s * self.batch, (s + 1) * self.batch))
