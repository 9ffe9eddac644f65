"""The causal pair sampler (docs/method.md §5.1) as an indexable dataset, and its per-rank batch sharding.

Sample ``i`` of epoch ``e`` is drawn with ``numpy.random.default_rng([seed, e, i])``:

1. a dataset by the configured ratios;
2. a sequence; video sequences must have >= ``min_length`` frames (20) and more than
   ``min_visible`` visible frames (4) — otherwise another sequence is drawn;
3. the template frame: a visible frame in [0, N-1); the search frame: a visible frame in
   [t+1, t + max_gap + g) with ``max_gap`` = 200, where the slack ``g`` starts at 0 and grows by 5
   until a visible frame exists (pytracking's ``causal`` mode, one template and one search frame);
   one-frame datasets (COCO) use the same image twice;
4. only with the optional distractor augmentation (``data.augment.distractor_prob``): with that
   probability, an object to paste (a visible frame and its box of another sequence, drawn as in
   steps 1-2);
5. the pair is processed (:class:`PairProcessing`); a rejected pair or an unreadable frame starts
   again from step 1 with the same generator. Unreadable frames are reported in the sample
   (``corrupt``) so the trainer can warn about and count them.

Because a sample depends only on (seed, epoch, index), the stream is the same whatever the number
of data-loader workers or processes, which is what makes ``--resume`` and DDP sharding exact.
"""
from __future__ import annotations

import logging
from typing import Dict, Iterator, List, Optional, Sequence

import numpy as np
import torch

from ..formats import CorruptImageError
from .processing import PairProcessing
from .readers import TrackingDataset

log = logging.getLogger("loretrack")


class SamplingError(RuntimeError):
    """The datasets cannot produce a valid sample (e.g. every sequence is too short)."""


class PairSampler(torch.utils.data.Dataset):
    """``sampler[i]`` -> processed training pair (dict of tensors + ``sample_id`` and ``corrupt``)."""

    def __init__(self, datasets: Sequence[TrackingDataset], weights: Optional[Sequence[float]],
                 processing: PairProcessing, samples_per_epoch: int, max_gap: int = 200, seed: int = 0,
                 min_length: int = 20, min_visible: int = 4, max_attempts: int = 100):
        if not datasets:
            raise ValueError("no training datasets given")
        w = np.asarray([1.0] * len(datasets) if weights is None else weights, dtype=np.float64)
        if len(w) != len(datasets) or (w < 0).any() or w.sum() <= 0:
            raise ValueError(f"dataset weights {list(w)} do not fit {len(datasets)} datasets")
        self.datasets = list(datasets)
        self.p = w / w.sum()
        self.processing = processing
        self.samples_per_epoch = int(samples_per_epoch)
        self.max_gap, self.seed = int(max_gap), int(seed)
        self.min_length, self.min_visible = int(min_length), int(min_visible)
        self.max_attempts = int(max_attempts)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.samples_per_epoch

    def __getitem__(self, index) -> Dict:
        """Sample ``index`` of the current epoch, or of epoch ``e`` when ``index`` is a pair ``(e, i)``.

        The pair form is what :class:`ShardedBatches` yields when its ``epoch`` is set: persistent
        data-loader workers hold a copy of this object made when they started, so an epoch set
        later with :meth:`set_epoch` in the main process would never reach them.
        """
        epoch = self.epoch
        if isinstance(index, (tuple, list)):
            epoch, index = index
        rng = np.random.default_rng([self.seed, int(epoch), int(index)])
        corrupt: List[str] = []
        for _ in range(self.max_attempts):
            d = int(rng.choice(len(self.datasets), p=self.p))
            ds = self.datasets[d]
            seq = self._pick_sequence(ds, rng)
            info = ds.sequence_info(seq)
            if ds.is_video:
                t_id, s_id = self._pick_frames(info.visible, rng)
            else:
                t_id = s_id = 0
            try:
                t_img = ds.frame(seq, t_id)
                s_img = t_img if s_id == t_id else ds.frame(seq, s_id)
            except CorruptImageError as e:
                corrupt.append(e.path)
                continue
            try:
                distractor = self._pick_distractor(rng, ds.sequence_name(seq))
            except CorruptImageError as e:
                corrupt.append(e.path)
                continue
            out = self.processing(rng, t_img, info.bbox[t_id], s_img, info.bbox[s_id],
                                  **({"distractor": distractor} if distractor is not None else {}))
            if out is None:
                continue
            sample = {k: torch.from_numpy(v) for k, v in out.items()}
            sample["sample_id"] = f"{ds.name}:{ds.sequence_name(seq)}:{t_id}->{s_id}"
            sample["index"] = int(index)
            sample["corrupt"] = corrupt
            return sample
        raise SamplingError(f"no valid sample after {self.max_attempts} attempts (epoch {epoch}, index {index}"
                            f"{'; unreadable frames: ' + ', '.join(corrupt[:3]) if corrupt else ''})")

    def _pick_distractor(self, rng: np.random.Generator, target_sequence: str, tries: int = 5):
        """(frame, box) of an object of another sequence to paste into the search crop, or None (see
        step 4). Never the target's own sequence: a second copy of the target would make the label
        ambiguous."""
        if not getattr(self.processing, "wants_distractor", False):
            return None
        if rng.random() >= self.processing.augment.distractor_prob:
            return None
        for _ in range(tries):
            ds = self.datasets[int(rng.choice(len(self.datasets), p=self.p))]
            seq = self._pick_sequence(ds, rng)
            if _video(ds.sequence_name(seq)) != _video(target_sequence):
                break
        else:
            return None
        info = ds.sequence_info(seq)
        visible = np.flatnonzero(info.visible)
        if not len(visible):
            return None
        f = int(rng.choice(visible))
        return ds.frame(seq, f), np.asarray(info.bbox[f], np.float64)

    def _pick_sequence(self, ds: TrackingDataset, rng: np.random.Generator) -> int:
        if not ds.is_video:
            return int(rng.integers(len(ds)))
        for _ in range(self.max_attempts):
            seq = int(rng.integers(len(ds)))
            vis = ds.sequence_info(seq).visible
            if len(vis) >= self.min_length and int(vis.sum()) > self.min_visible:
                return seq
        raise SamplingError(f"{ds.name} at {ds.root}: no sequence with >= {self.min_length} frames and more than "
                            f"{self.min_visible} visible frames found in {self.max_attempts} draws")

    def _pick_frames(self, visible: np.ndarray, rng: np.random.Generator):
        n = len(visible)
        vis_idx = np.flatnonzero(visible)
        base = vis_idx[vis_idx < n - 1]
        gap = 0
        while True:
            t = int(rng.choice(base))
            hi = min(n, t + self.max_gap + gap)
            cand = vis_idx[(vis_idx > t) & (vis_idx < hi)]
            gap += 5
            if len(cand):
                return t, int(rng.choice(cand))


def _video(sequence_name: str) -> str:
    """The video a sequence comes from: still-image and random-box items are named 'video#frame...'."""
    return sequence_name.split("#", 1)[0]


def worker_init(worker_id: int) -> None:
    """``worker_init_fn`` of the training loaders: OpenCV runs one thread per worker.

    ``cv2.setNumThreads(0)`` makes OpenCV run its functions sequentially in that worker process;
    without it every worker starts a thread pool as wide as the machine, and N workers x all cores
    threads compete for the cores that also feed the GPU. (torch already uses one thread in a worker.)
    The samples do not depend on it.
    """
    import cv2
    cv2.setNumThreads(0)


def collate(samples: List[Dict]) -> Dict:
    """Stack tensors; keep ``sample_id``/``index``/``corrupt`` as per-sample lists."""
    out = {}
    for k in samples[0]:
        vals = [s[k] for s in samples]
        out[k] = torch.stack(vals) if isinstance(vals[0], torch.Tensor) else vals
    return out


class ShardedBatches(torch.utils.data.Sampler):
    """Index batches of one epoch for one process of a ``world``-process run.

    Global step s covers sample indices [s*B*W, (s+1)*B*W); process r takes the r-th block of
    ``batch_size`` of them. The union over processes is therefore exactly what a single process with
    batch B*W would see. ``start_step`` skips the first steps (mid-epoch resume).

    ``epoch``: when set, every index is yielded as the pair ``(epoch, i)`` that
    :meth:`PairSampler.__getitem__` accepts, so the epoch travels with the indices to persistent
    data-loader workers (the batch sampler lives in the main process; the dataset copies do not).
    """

    def __init__(self, samples_per_epoch: int, batch_size: int, rank: int = 0, world: int = 1, start_step: int = 0,
                 epoch: Optional[int] = None):
        self.B, self.rank, self.world = int(batch_size), int(rank), int(world)
        self.steps = samples_per_epoch // (self.B * self.world)
        if self.steps < 1:
            raise ValueError(f"samples_per_epoch={samples_per_epoch} is smaller than one global batch "
                             f"({self.B} x {self.world} processes)")
        self.start_step = int(start_step)
        self.epoch = epoch

    def __len__(self) -> int:
        return max(0, self.steps - self.start_step)

    def __iter__(self) -> Iterator[List]:
        for s in range(self.start_step, self.steps):
            base = (s * self.world + self.rank) * self.B
            if self.epoch is None:
                yield list(range(base, base + self.B))
            else:
                yield [(int(self.epoch), i) for i in range(base, base + self.B)]
