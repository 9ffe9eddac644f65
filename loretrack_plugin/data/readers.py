"""Readers for the training datasets of OSTrack/LoReTrack (docs/method.md §5.1), on their real on-disk layouts.

Every reader is a :class:`TrackingDataset`: a list of sequences, each with per-frame boxes
(x, y, w, h in pixels, 0-based), a ``valid`` flag (finite, w > 0 and h > 0) and a ``visible`` flag
(valid and not occluded / out of view / absent, as each benchmark marks it). Files are read with the
shared readers of :mod:`loretrack_plugin.formats` (box files, frames, OTB-layout folders and their
policy). Frames are read on demand as RGB uint8 arrays; an unreadable or missing frame raises
:class:`CorruptImageError` so that the sampler can skip it instead of crashing a long run.

Layouts (``root`` is the folder given in the config):

=============== ==================================================================================
``lasot``       ``root/<class>/<class>-<k>/img/00000001.jpg``, ``groundtruth.txt``,
                ``full_occlusion.txt``, ``out_of_view.txt``; split ``train`` (1120 sequences),
                ``test`` (280) or a split file
``got10k``      ``root/{train,val}/<seq>/00000001.jpg``, ``groundtruth.txt``, ``absence.label``,
                ``cover.label`` (``root`` may also be the split folder itself); splits ``train``
                (all 9335 training sequences), ``vot-train`` (7086) / ``vot-val`` (1249) — the
                training sequences without the ones that overlap VOT, as indices into the
                training list — ``val``, ``test`` or a split file
``trackingnet`` ``root/TRAIN_<k>/anno/<seq>.txt`` and ``root/TRAIN_<k>/frames/<seq>/<i>.jpg`` (0-based);
                chunks 0..11 by default (those present)
``coco``        ``root/annotations/instances_train2017.json`` with images in ``root/images/train2017``
                or ``root/train2017``; every non-crowd object is a one-frame sequence
``otb``         any folder of OTB-layout sequences, ``<seq>/img/*.jpg`` + ``<seq>/groundtruth_rect.txt``
                (:mod:`loretrack_plugin.formats.otb`: frames in the order of the numbers in their
                names, ``1.jpg`` ... or ``0001.jpg`` ...; frame and box counts must agree;
                ``groundtruth_rect.<n>.txt`` files give sequences ``<seq>.1``, ``<seq>.2``, ...)
=============== ==================================================================================

Any video reader can also feed still-image pairs (``pairs: still``, template and search from the
same annotated frame, like COCO) or self-supervised random-box pairs (``pairs: random``), see
:func:`build_dataset`.

Shipped split files (``loretrack_plugin/data/splits``): ``lasot_train.txt`` / ``lasot_test.txt`` (from
the sequence lists bundled with the got10k toolkit) and ``got10k_vot_train.txt`` /
``got10k_vot_val.txt`` (0-based indices into the sorted GOT-10k training list, the lists that
pytracking and OSTrack use for ``GOT10K_vottrain`` / ``GOT10K_votval``).
"""
from __future__ import annotations

import abc
import json
import logging
import math
import os
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Union

import numpy as np

from ..formats import CorruptImageError, find_otb_sequences, image_size, read_boxes, read_flags, read_rgb  # noqa: F401

log = logging.getLogger("loretrack")

SPLIT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "splits")


def _read_flags(path: str, n: int) -> Optional[np.ndarray]:
    """Integer flags, one per frame (:func:`~loretrack_plugin.formats.read_flags`), the first ``n``; None if
    the file is absent."""
    vals = read_flags(path)
    if vals is None:
        return None
    if len(vals) < n:
        raise ValueError(f"{path}: {len(vals)} flags for {n} frames")
    return vals[:n].astype(np.int64)


def _visibility(folder: str, n: int, rules: Dict[str, Callable[[np.ndarray], np.ndarray]]) -> np.ndarray:
    """Visible flags (n,) from per-frame flag files in ``folder``: ``rules`` maps a file name to the
    test a frame's flag must pass to count as visible; a file that is absent imposes nothing."""
    vis = np.ones(n, bool)
    for name, visible in rules.items():
        flags = _read_flags(os.path.join(folder, name), n)
        if flags is not None:
            vis &= visible(flags)
    return vis


def read_split_file(path: str) -> List[str]:
    """Non-empty, non-comment lines of a split file."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"split file not found: {path}")
    with open(path) as f:
        return [s.strip() for s in f if s.strip() and not s.lstrip().startswith("#")]


def shipped_split(name: str) -> str:
    return os.path.join(SPLIT_DIR, name)


@dataclass
class SequenceInfo:
    """Per-frame annotation of one sequence: boxes (N, 4) x,y,w,h px, valid (N,) and visible (N,) bool."""
    bbox: np.ndarray
    valid: np.ndarray
    visible: np.ndarray

    @classmethod
    def from_boxes(cls, bbox: np.ndarray, visible: Optional[np.ndarray] = None) -> "SequenceInfo":
        bbox = np.asarray(bbox, dtype=np.float64).reshape(-1, 4)
        with np.errstate(invalid="ignore"):
            valid = np.isfinite(bbox).all(1) & (bbox[:, 2] > 0) & (bbox[:, 3] > 0)
        vis = valid if visible is None else (np.asarray(visible, dtype=bool) & valid)
        return cls(bbox, valid, vis)

    def __len__(self) -> int:
        return len(self.bbox)


class TrackingDataset(abc.ABC):
    """A set of annotated sequences. Subclasses fill ``self._names`` and implement the two hooks."""

    name = "dataset"
    is_video = True
    cache_size = 256

    def __init__(self, root: str, sequences: Optional[Iterable[str]] = None):
        self.root = os.fspath(root)
        if not os.path.isdir(self.root):
            raise FileNotFoundError(f"{self.name} dataset root not found: {self.root}")
        self._names: List[str] = []
        self._keep = None if sequences is None else list(sequences)
        self._cache: "OrderedDict[int, SequenceInfo]" = OrderedDict()

    def _filter(self, names: List[str]) -> List[str]:
        """Apply the ``sequences=`` selection (exact names) and fail if nothing is left."""
        if self._keep is not None:
            have = set(names)
            missing = [n for n in self._keep if n not in have]
            if missing:
                raise ValueError(f"{self.name} at {self.root}: sequences not found: {missing[:5]}"
                                 f"{' ...' if len(missing) > 5 else ''}")
            names = [n for n in names if n in set(self._keep)]
        if not names:
            raise ValueError(f"{self.name} at {self.root}: no sequences found")
        return names

    def __len__(self) -> int:
        return len(self._names)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.root!r}, {len(self)} sequences)"

    def sequence_name(self, index: int) -> str:
        return self._names[index]

    def sequence_info(self, index: int) -> SequenceInfo:
        info = self._cache.get(index)
        if info is None:
            info = self._load_info(index)
            self._cache[index] = info
            if len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(index)
        return info

    def frame(self, index: int, frame_id: int) -> np.ndarray:
        """RGB uint8 frame ``frame_id`` (0-based) of sequence ``index``."""
        return read_rgb(self.frame_path(index, frame_id))

    # hooks ------------------------------------------------------------------------------------
    @abc.abstractmethod
    def _load_info(self, index: int) -> SequenceInfo:
        """Boxes and visibility of sequence ``index``."""

    def frame_path(self, index: int, frame_id: int) -> str:
        """Path of frame ``frame_id`` (0-based) of sequence ``index``; datasets that do not read frames
        from files override :meth:`frame` instead."""
        raise TypeError(f"{type(self).__name__} has no frame files (it overrides frame())")


class Lasot(TrackingDataset):
    """LaSOT. ``split``: ``'train'`` (default), ``'test'``, ``None`` (every sequence on disk) or a split file."""

    name = "lasot"

    def __init__(self, root: str, split: Optional[str] = "train", sequences=None):
        super().__init__(root, sequences)
        if split is None:
            names = sorted(s for c in _subdirs(self.root) for s in _subdirs(os.path.join(self.root, c))
                           if os.path.isfile(os.path.join(self.root, c, s, "groundtruth.txt")))
        else:
            listed = read_split_file(shipped_split(f"lasot_{split}.txt") if split in ("train", "test") else split)
            names = [n for n in listed if os.path.isdir(self._seq_dir(n))]
            if names and len(names) < len(listed):
                log.warning("lasot: %d of %d sequences of split %r are missing under %s", len(listed) - len(names),
                            len(listed), split, self.root)
        self._names = self._filter(names)

    def _seq_dir(self, name: str) -> str:
        return os.path.join(self.root, name.rsplit("-", 1)[0], name)

    def _load_info(self, index):
        d = self._seq_dir(self._names[index])
        bbox = read_boxes(os.path.join(d, "groundtruth.txt"))
        return SequenceInfo.from_boxes(bbox, _visibility(d, len(bbox), {"full_occlusion.txt": lambda f: f == 0,
                                                                       "out_of_view.txt": lambda f: f == 0}))

    def frame_path(self, index, frame_id):
        return os.path.join(self._seq_dir(self._names[index]), "img", f"{frame_id + 1:08d}.jpg")


class Got10k(TrackingDataset):
    """GOT-10k. ``split``: ``'train'``, ``'vot-train'``, ``'vot-val'``, ``'val'``, ``'test'`` or a split file
    (sequence names, or integer indices into the training list)."""

    name = "got10k"
    INDEX_SPLITS = {"vot-train": "got10k_vot_train.txt", "vot-val": "got10k_vot_val.txt"}

    def __init__(self, root: str, split: str = "train", sequences=None):
        super().__init__(root, sequences)
        sub = "val" if split == "val" else "test" if split == "test" else "train"
        self.split_dir = os.path.join(self.root, sub) if os.path.isdir(os.path.join(self.root, sub)) else self.root
        all_names = self._list(self.split_dir)
        if split in ("train", "val", "test"):
            names = all_names
        else:
            listed = read_split_file(shipped_split(self.INDEX_SPLITS[split]) if split in self.INDEX_SPLITS else split)
            if all(s.isdigit() for s in listed):
                idx = [int(s) for s in listed]
                if max(idx) >= len(all_names):
                    raise ValueError(f"got10k split {split!r} indexes sequence {max(idx)} of the training list, but "
                                     f"{self.split_dir} holds only {len(all_names)} sequences (index splits need the "
                                     "complete GOT-10k training set)")
                names = [all_names[i] for i in idx]
            else:
                have = set(all_names)
                names = [n for n in listed if n in have]
        self._names = self._filter(names)

    @staticmethod
    def _list(d: str) -> List[str]:
        lst = os.path.join(d, "list.txt")
        if os.path.isfile(lst):
            return read_split_file(lst)
        return sorted(s for s in _subdirs(d) if os.path.isfile(os.path.join(d, s, "groundtruth.txt")))

    def _load_info(self, index):
        d = os.path.join(self.split_dir, self._names[index])
        bbox = read_boxes(os.path.join(d, "groundtruth.txt"))
        return SequenceInfo.from_boxes(bbox, _visibility(d, len(bbox), {"absence.label": lambda f: f == 0,
                                                                       "cover.label": lambda f: f > 0}))

    def frame_path(self, index, frame_id):
        return os.path.join(self.split_dir, self._names[index], f"{frame_id + 1:08d}.jpg")


class TrackingNet(TrackingDataset):
    """TrackingNet training chunks ``TRAIN_<k>`` (``chunks=None``: every chunk present)."""

    name = "trackingnet"

    def __init__(self, root: str, chunks: Optional[Sequence[int]] = None, sequences=None):
        super().__init__(root, sequences)
        if chunks is None:
            chunks = [k for k in range(12) if os.path.isdir(os.path.join(self.root, f"TRAIN_{k}"))]
            if not chunks:
                raise FileNotFoundError(f"trackingnet: no TRAIN_<k> folders under {self.root}")
        self._seqs = []
        for k in chunks:
            anno = os.path.join(self.root, f"TRAIN_{k}", "anno")
            if not os.path.isdir(anno):
                raise FileNotFoundError(f"trackingnet: annotation folder not found: {anno}")
            self._seqs += [(k, f[:-4]) for f in sorted(os.listdir(anno)) if f.endswith(".txt")]
        names = self._filter([s for _, s in self._seqs])
        keep = set(names)
        self._seqs = [s for s in self._seqs if s[1] in keep]
        self._names = [s for _, s in self._seqs]

    def _load_info(self, index):
        k, s = self._seqs[index]
        return SequenceInfo.from_boxes(read_boxes(os.path.join(self.root, f"TRAIN_{k}", "anno", s + ".txt")))

    def frame_path(self, index, frame_id):
        k, s = self._seqs[index]
        return os.path.join(self.root, f"TRAIN_{k}", "frames", s, f"{frame_id}.jpg")


class Coco(TrackingDataset):
    """COCO detection boxes as one-frame sequences (template and search come from the same image)."""

    name = "coco"
    is_video = False

    def __init__(self, root: str, split: str = "train2017", sequences=None):
        super().__init__(root, sequences)
        anno = os.path.join(self.root, "annotations", f"instances_{split}.json")
        if not os.path.isfile(anno):
            raise FileNotFoundError(f"coco: annotation file not found: {anno}")
        self.image_dir = next((d for d in (os.path.join(self.root, "images", split), os.path.join(self.root, split))
                               if os.path.isdir(d)), None)
        if self.image_dir is None:
            raise FileNotFoundError(f"coco: image folder not found: {self.root}/images/{split} or {self.root}/{split}")
        with open(anno) as f:
            data = json.load(f)
        files = {im["id"]: im["file_name"] for im in data.get("images", [])}
        anns = [a for a in data.get("annotations", []) if not a.get("iscrowd", 0) and a.get("image_id") in files]
        # compact arrays instead of the parsed JSON: data-loader workers share them copy-on-write
        self._boxes = np.array([a["bbox"] for a in anns], dtype=np.float64).reshape(-1, 4)
        self._files = [files[a["image_id"]] for a in anns]
        names = [str(a["id"]) for a in anns]
        del data
        keep = set(self._filter(names))
        if len(keep) < len(names):
            sel = [i for i, n in enumerate(names) if n in keep]
            self._boxes, self._files = self._boxes[sel], [self._files[i] for i in sel]
            names = [names[i] for i in sel]
        self._names = names

    def _load_info(self, index):
        return SequenceInfo.from_boxes(self._boxes[index:index + 1])

    def frame_path(self, index, frame_id):
        return os.path.join(self.image_dir, self._files[index])


class OtbFolder(TrackingDataset):
    """Any folder of OTB-layout sequences, read by :mod:`loretrack_plugin.formats.otb` (its policy: frames
    in the order of the numbers in their names, frame and box counts must agree;
    ``groundtruth_rect.<n>.txt`` files give ``<seq>.1``, ``<seq>.2``, ...).

    Every selected sequence is read once when the reader is made, so that a folder breaking that
    policy (ambiguous frame names, mixed box rows, counts that differ) stops a run before it starts
    instead of in the middle of training.
    """

    name = "otb"

    def __init__(self, root: str, sequences=None):
        super().__init__(root, sequences)
        self._seqs = {s.name: s for s in find_otb_sequences(self.root)}
        self._names = self._filter(sorted(self._seqs))
        self._frames: Dict[str, List[str]] = {}
        for index in range(len(self._names)):
            self.sequence_info(index)

    def _load_info(self, index):
        name = self._names[index]
        frames, bbox = self._seqs[name].load()
        self._frames[name] = frames
        return SequenceInfo.from_boxes(bbox)

    def frame_path(self, index, frame_id):
        name = self._names[index]
        if name not in self._frames:
            self.sequence_info(index)
        return self._frames[name][frame_id]


def _subdirs(d: str) -> List[str]:
    try:
        return sorted(e.name for e in os.scandir(d) if e.is_dir())
    except FileNotFoundError:
        return []


class StillFrames(TrackingDataset):
    """Every annotated frame of a video dataset as a one-frame sequence (``pairs: still``).

    Template and search are then cut from the same image, each around its own jittered box, the way
    OSTrack uses COCO: the network learns to find the object again under the crop jitter and the
    per-crop augmentation, without needing a second frame. Frames whose box is not visible are left
    out.
    """

    is_video = False

    def __init__(self, base: TrackingDataset, stride: int = 1):
        self.base = base
        self.root = base.root
        self.name = f"{base.name}-still"
        self._cache = OrderedDict()
        self._items = []
        for i in range(len(base)):
            vis = base.sequence_info(i).visible
            self._items += [(i, int(f)) for f in np.flatnonzero(vis)[::max(1, int(stride))]]
        if not self._items:
            raise ValueError(f"{base.name} at {base.root}: no visible annotated frame for still-image pairs")
        self._names = [f"{base.sequence_name(i)}#{f + 1}" for i, f in self._items]

    def _load_info(self, index):
        i, f = self._items[index]
        info = self.base.sequence_info(i)
        return SequenceInfo.from_boxes(info.bbox[f:f + 1], info.visible[f:f + 1])

    def frame(self, index, frame_id):
        i, f = self._items[index]
        return self.base.frame(i, f)


class RandomBoxes(TrackingDataset):
    """Self-supervised still-image pairs: a random box in a random frame is the "target" (``pairs: random``).

    No annotation is used. Item ``k`` is frame ``k // boxes_per_frame`` with a box drawn from
    ``default_rng([seed, k])``: side ``sqrt(w*h)`` uniform in [``min_size``, ``max_size``] of the
    frame's shorter side, aspect ratio log-uniform in [1/``max_aspect``, ``max_aspect``], placed
    uniformly inside the frame. Template and search are cut from the same frame around that box, so
    the pretext task is "find this patch again" under crop jitter and augmentation: tracking
    pre-training of the backbone on any footage, labelled or not.
    """

    is_video = False

    def __init__(self, base: TrackingDataset, boxes_per_frame: int = 64, min_size: float = 0.08,
                 max_size: float = 0.35, max_aspect: float = 2.5, seed: int = 0, stride: int = 1):
        self.base = base
        self.root = base.root
        self.name = f"{base.name}-random"
        self._cache = OrderedDict()
        self.k = max(1, int(boxes_per_frame))
        self.min_size, self.max_size, self.max_aspect = float(min_size), float(max_size), float(max_aspect)
        if not 0 < self.min_size <= self.max_size <= 1 or self.max_aspect < 1:
            raise ValueError(f"random boxes: need 0 < min_size <= max_size <= 1 and max_aspect >= 1, got "
                             f"{self.min_size}, {self.max_size}, {self.max_aspect}")
        self.seed = int(seed)
        self._frames = [(i, f) for i in range(len(base))
                        for f in range(0, len(base.sequence_info(i)), max(1, int(stride)))]
        if not self._frames:
            raise ValueError(f"{base.name} at {base.root}: no frames for random-box pairs")
        self._sizes: Dict[int, tuple] = {}
        self._names = _LazyNames(self)

    def __len__(self) -> int:
        return len(self._frames) * self.k

    def sequence_name(self, index: int) -> str:
        i, f = self._frames[index // self.k]
        return f"{self.base.sequence_name(i)}#{f + 1}/box{index % self.k}"

    def _image_size(self, frame_index: int):
        if frame_index not in self._sizes:
            i, f = self._frames[frame_index]
            self._sizes[frame_index] = image_size(self.base.frame_path(i, f))
        return self._sizes[frame_index]

    def _load_info(self, index):
        W, H = self._image_size(index // self.k)
        rng = np.random.default_rng([self.seed, int(index)])
        side = rng.uniform(self.min_size, self.max_size) * min(W, H)
        aspect = math.exp(rng.uniform(-1.0, 1.0) * math.log(self.max_aspect))
        w = min(side * math.sqrt(aspect), W - 1.0)
        h = min(side / math.sqrt(aspect), H - 1.0)
        x, y = rng.uniform(0, W - w), rng.uniform(0, H - h)
        return SequenceInfo.from_boxes(np.array([[x, y, w, h]]))

    def frame(self, index, frame_id):
        i, f = self._frames[index // self.k]
        return self.base.frame(i, f)


class _LazyNames:
    """``len()``-able name list of :class:`RandomBoxes` (millions of items: names are made on demand)."""

    def __init__(self, ds: RandomBoxes):
        self.ds = ds

    def __len__(self):
        return len(self.ds)

    def __getitem__(self, index):
        return self.ds.sequence_name(index)


READERS = {"lasot": Lasot, "got10k": Got10k, "trackingnet": TrackingNet, "coco": Coco, "otb": OtbFolder}
PAIR_MODES = ("video", "still", "random")


def build_dataset(spec: Union[dict, TrackingDataset]) -> TrackingDataset:
    """A reader from a config entry ``{type, root, split?, chunks?, sequences?, pairs?, pair_options?}``.

    ``pairs`` says how training pairs are made of the sequences: ``video`` (default; template and
    search from two frames of a sequence), ``still`` (:class:`StillFrames`: both from one annotated
    frame) or ``random`` (:class:`RandomBoxes`: both from one frame, around a random box, no labels
    used). ``pair_options`` are the keyword arguments of that wrapper. ``exclude`` lists sequence
    names to leave out (e.g. a validation split). Other extra keys are an error.
    """
    if isinstance(spec, TrackingDataset):
        return spec
    spec = dict(spec)
    kind = spec.pop("type", None)
    if kind not in READERS:
        raise ValueError(f"dataset type {kind!r}: expected one of {sorted(READERS)}")
    root = spec.pop("root", None)
    if not root:
        raise ValueError(f"dataset {kind}: 'root' is required")
    pairs = spec.pop("pairs", "video")
    pair_opts = spec.pop("pair_options", None) or {}
    exclude = spec.pop("exclude", None) or []
    if pairs not in PAIR_MODES:
        raise ValueError(f"dataset {kind} at {root}: pairs={pairs!r}, expected one of {list(PAIR_MODES)}")
    try:
        base = READERS[kind](root, **spec)
        if exclude:
            names = [base.sequence_name(i) for i in range(len(base))]
            unknown = sorted(set(exclude) - set(names))
            if unknown:
                raise ValueError(f"dataset {kind} at {root}: excluded sequences not found: {unknown[:5]}")
            base = READERS[kind](root, **dict(spec, sequences=[n for n in names if n not in set(exclude)]))
    except TypeError as e:
        raise ValueError(f"dataset {kind}: bad options {sorted(spec)} ({e})") from None
    if pairs == "video":
        if pair_opts:
            raise ValueError(f"dataset {kind} at {root}: pair_options need pairs: still or random")
        return base
    try:
        return (StillFrames if pairs == "still" else RandomBoxes)(base, **pair_opts)
    except TypeError as e:
        raise ValueError(f"dataset {kind} at {root}: bad pair_options {sorted(pair_opts)} ({e})") from None
