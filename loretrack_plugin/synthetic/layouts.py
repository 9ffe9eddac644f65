"""Write synthetic sequences in the exact on-disk layouts of the standard benchmarks.

===========  ==============================================================================================
layout       files per sequence (``out`` = the folder given)
===========  ==============================================================================================
lasot        ``out/<class>/<class>-<k>/img/00000001.jpg``, ``groundtruth.txt`` (x,y,w,h; absent rows
             ``0,0,0,0``), ``full_occlusion.txt`` / ``out_of_view.txt`` (one comma-separated line of 0/1),
             ``nlp.txt``; names from the official test (default), train or extension list; plus
             ``out/testing_set.txt`` / ``training_set.txt`` / ``extension_set.txt``.
got10k       ``out/<split>/list.txt``; ``out/<split>/GOT-10k_<Split>_000001/00000001.jpg``,
             ``groundtruth.txt`` (``%.4f`` x,y,w,h; test: first box only); train/val also ``meta_info.ini``
             (with ``resolution: (W, H)``), ``cover.label`` (0..8, 0 = invisible), ``absence.label``,
             ``cut_by_image.label``. Absent rows repeat the last visible box (they are excluded through
             ``cover.label``).
otb          ``out/<RealOTBName>/img/0001.jpg``, ``groundtruth_rect.txt``; names are real OTB-2015 names
             that got10k neither trims nor splits. No absent spans (OTB has none).
vot          ``out/list.txt``; ``out/<seq>/sequence`` (``channels.color=color/%08d.jpg``, fps, width,
             height, length), ``out/<seq>/color/00000001.jpg``, ``groundtruth.txt`` (x,y,w,h),
             ``occlusion.tag``, ``size_change.tag`` (0/1 per frame), ``anchor.value`` (multistart
             anchors: 1 forward, -1 backward, 0 otherwise). No absent spans (short-term).
trackingnet  ``out/TEST/anno/<seq>.txt`` (first box only) and ``out/TEST/frames/<seq>/0.jpg ...``
             (got10k master layout); split ``train`` writes ``TRAIN_0`` with every box.
===========  ==============================================================================================

Each sequence is rendered into a hidden temporary folder and renamed into place, list files are
written atomically, so an interrupted run never leaves a half-written sequence behind.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import zlib
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

from ..utils.files import write_text
from ..formats.sequence_names import lasot_class, lasot_names, otb_plain_names, spread_over_classes
from .render import SyntheticSequence, render_sequence

LAYOUTS = ("lasot", "got10k", "otb", "vot", "trackingnet")
DEFAULT_SPLITS = {"lasot": ("test",), "got10k": ("train", "val", "test"), "otb": ("test",), "vot": ("test",),
                  "trackingnet": ("test",)}
VALID_SPLITS = {"lasot": ("train", "test", "ext"), "got10k": ("train", "val", "test"), "otb": ("test",),
                "vot": ("test",), "trackingnet": ("train", "test")}
#: image sizes cycled through when ``image_size`` is not given (real benchmarks mix resolutions)
SIZES = ((320, 240), (352, 240), (320, 256), (288, 224))


def _rng(seed: int, layout: str, split: str, index: int) -> np.random.Generator:
    # one stream per (layout, split, sequence): regenerating one sequence gives the same frames
    return np.random.default_rng([int(seed), zlib.crc32(layout.encode()), zlib.crc32(split.encode()), index])


def _write_jpg(path: str, rgb: np.ndarray) -> None:
    if not cv2.imwrite(path, np.ascontiguousarray(rgb[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, 90]):
        raise OSError(f"could not write {path}")


def _fmt_boxes(boxes: np.ndarray, fmt: str = "%.4f") -> str:
    return "".join(",".join(fmt % v for v in b) + "\n" for b in boxes)


def _lines(values: Iterable) -> str:
    return "".join(f"{v}\n" for v in values)


class _SeqDir:
    """A sequence folder built under a hidden temporary name and moved into place on success."""

    def __init__(self, final: str):
        self.final = os.path.abspath(final)
        parent = os.path.dirname(self.final)
        os.makedirs(parent, exist_ok=True)
        self.tmp = tempfile.mkdtemp(prefix="." + os.path.basename(self.final) + ".", suffix=".tmp", dir=parent)

    def path(self, *parts: str) -> str:
        p = os.path.join(self.tmp, *parts)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        return p

    def write(self, rel: str, text: str) -> None:
        with open(self.path(rel), "w") as f:
            f.write(text)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            return False
        if os.path.isdir(self.final):
            shutil.rmtree(self.final)
        os.replace(self.tmp, self.final)
        return False


def _render(rng, frames: int, size, absent: bool) -> SyntheticSequence:
    return render_sequence(rng, frames, size=size, absent_spans=absent)


def _write_lasot(out: str, name: str, seq: SyntheticSequence) -> None:
    with _SeqDir(os.path.join(out, lasot_class(name), name)) as d:
        for i, im in enumerate(seq.frames):
            _write_jpg(d.path("img", "%08d.jpg" % (i + 1)), im)
        gt = np.where(seq.visible[:, None], seq.boxes, 0.0)
        d.write("groundtruth.txt", _fmt_boxes(gt, "%d"))
        d.write("full_occlusion.txt", ",".join(str(int(v)) for v in seq.full_occlusion) + "\n")
        d.write("out_of_view.txt", ",".join(str(int(v)) for v in seq.out_of_view) + "\n")
        d.write("nlp.txt", f"the textured {seq.object_class} moving among look-alike distractors\n")


def _write_got10k(out: str, split: str, name: str, seq: SyntheticSequence) -> None:
    with _SeqDir(os.path.join(out, split, name)) as d:
        for i, im in enumerate(seq.frames):
            _write_jpg(d.path("%08d.jpg" % (i + 1)), im)
        boxes = seq.boxes[:1] if split == "test" else seq.boxes
        d.write("groundtruth.txt", _fmt_boxes(boxes))
        if split == "test":
            return
        w, h = seq.size
        secs = max(1, len(seq.frames) // 10)
        d.write("meta_info.ini", "[METAINFO]\n" + "".join(f"{k}: {v}\n" for k, v in (
            ("url", "synthetic"), ("begin", "00:00:00"), ("end", "00:00:%02d" % min(59, secs)),
            ("anno_fps", "10Hz"), ("object_class", seq.object_class), ("motion_class", "; ".join(seq.motion)),
            ("major_class", "synthetic"), ("root_class", "synthetic"), ("motion_adverb", "smoothly"),
            ("resolution", f"({w}, {h})"))))
        # GOT-10k's cover level: 0 = invisible, 1..8 = visible fraction in eighths (rounded up)
        cover = np.where(seq.visible, np.clip(np.ceil(seq.visible_ratio * 8), 1, 8), 0).astype(int)
        d.write("cover.label", _lines(cover))
        d.write("absence.label", _lines((~seq.visible).astype(int)))
        d.write("cut_by_image.label", _lines(seq.cut_by_image.astype(int)))


def _write_otb(out: str, name: str, seq: SyntheticSequence) -> None:
    with _SeqDir(os.path.join(out, name)) as d:
        for i, im in enumerate(seq.frames):
            _write_jpg(d.path("img", "%04d.jpg" % (i + 1)), im)
        d.write("groundtruth_rect.txt", _fmt_boxes(seq.boxes, "%d"))


def _write_vot(out: str, name: str, seq: SyntheticSequence) -> None:
    n = len(seq.frames)
    with _SeqDir(os.path.join(out, name)) as d:
        for i, im in enumerate(seq.frames):
            _write_jpg(d.path("color", "%08d.jpg" % (i + 1)), im)
        w, h = seq.size
        d.write("sequence", f"channels.color=color/%08d.jpg\nfps=30\nformat=default\nname={name}\n"
                            f"width={w}\nheight={h}\nlength={n}\n")
        d.write("groundtruth.txt", _fmt_boxes(seq.boxes, "%.2f"))
        d.write("occlusion.tag", _lines((seq.visible_ratio < 0.75).astype(int)))
        area = seq.boxes[:, 2] * seq.boxes[:, 3]
        d.write("size_change.tag", _lines((np.abs(np.log(area / area[0])) > np.log(1.3)).astype(int)))
        anchors = np.zeros(n, int)
        step = max(10, n // 4)
        for f in range(0, n, step):
            anchors[f] = 1 if f < n / 2 else -1
        anchors[0] = 1
        d.write("anchor.value", _lines(anchors))


def _write_trackingnet(out: str, split: str, name: str, seq: SyntheticSequence) -> None:
    chunk = "TEST" if split == "test" else "TRAIN_0"
    with _SeqDir(os.path.join(out, chunk, "frames", name)) as d:
        for i, im in enumerate(seq.frames):
            _write_jpg(d.path("%d.jpg" % i), im)
    boxes = seq.boxes[:1] if split == "test" else seq.boxes
    write_text(os.path.join(out, chunk, "anno", name + ".txt"), _fmt_boxes(boxes))


def _names(layout: str, split: str, n: int, rng_seed: int) -> List[str]:
    if layout == "lasot":
        pool = spread_over_classes(lasot_names(split))
        if n > len(pool):
            raise ValueError(f"--sequences {n}: the LaSOT {split} list has only {len(pool)} sequences")
        return pool[:n]
    if layout == "got10k":
        return ["GOT-10k_%s_%06d" % (split.capitalize(), i + 1) for i in range(n)]
    if layout == "otb":
        pool = otb_plain_names()
        if n > len(pool):
            raise ValueError(f"--sequences {n}: only {len(pool)} OTB names are usable for synthetic sequences")
        return pool[:n]
    if layout == "vot":
        return ["synth-%02d" % (i + 1) for i in range(n)]
    # TrackingNet names are YouTube ids with an object suffix
    rng = np.random.default_rng([rng_seed, zlib.crc32(split.encode())])
    alphabet = np.array(list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"))
    return ["".join(rng.choice(alphabet, 11)) + "_%d" % int(rng.integers(0, 3)) for _ in range(n)]


def make_dataset(layout: str, out: str, sequences: int = 4, frames: int = 40, seed: int = 0,
                 splits: Optional[Union[str, Sequence[str]]] = None,
                 image_size: Optional[Tuple[int, int]] = None) -> Dict:
    """Write a synthetic benchmark in ``layout`` under ``out``.

    Args:
        layout: ``lasot``, ``got10k``, ``otb``, ``vot`` or ``trackingnet`` (see the module table).
        out: dataset root (for ``vot``: the workspace's ``sequences`` folder). Existing sequences of
            the same name are replaced; other content is left alone.
        sequences: sequences per split.
        frames: frames per sequence (every sequence has exactly this many).
        seed: the same seed gives byte-identical annotations and frames.
        splits: which splits to write (default: lasot ``test``; got10k ``train``, ``val`` and
            ``test``; trackingnet ``test``); lasot also takes ``train`` and ``ext`` (extension
            subset names), trackingnet ``train`` (chunk ``TRAIN_0``).
        image_size: (W, H) of every frame; default cycles through :data:`SIZES`.

    Returns:
        ``{"root": abs(out), "layout": layout, "splits": {split: [sequence names]}}``.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r} (expected one of {', '.join(LAYOUTS)})")
    if int(sequences) < 1 or int(frames) < 2:
        raise ValueError(f"need at least 1 sequence of at least 2 frames, got sequences={sequences}, frames={frames}")
    if splits is None:
        splits = DEFAULT_SPLITS[layout]
    elif isinstance(splits, str):
        splits = tuple(s.strip() for s in splits.split(",") if s.strip())
    bad = [s for s in splits if s not in VALID_SPLITS[layout]]
    if bad or not splits:
        raise ValueError(f"splits {list(splits)!r} are not valid for layout {layout!r} "
                         f"(expected some of {', '.join(VALID_SPLITS[layout])})")
    out = os.path.abspath(os.path.expanduser(os.fspath(out)))
    os.makedirs(out, exist_ok=True)
    from tqdm import tqdm

    written: Dict[str, List[str]] = {}
    total = len(splits) * int(sequences)
    with tqdm(total=total, desc=f"make-dataset {layout}", unit="seq", leave=False) as bar:
        for split in splits:
            names = _names(layout, split, int(sequences), seed)
            absent = layout in ("lasot", "got10k")
            for i, name in enumerate(names):
                size = tuple(image_size) if image_size else SIZES[i % len(SIZES)]
                seq = _render(_rng(seed, layout, split, i), int(frames), size, absent)
                if layout == "lasot":
                    _write_lasot(out, name, seq)
                elif layout == "got10k":
                    _write_got10k(out, split, name, seq)
                elif layout == "otb":
                    _write_otb(out, name, seq)
                elif layout == "vot":
                    _write_vot(out, name, seq)
                else:
                    _write_trackingnet(out, split, name, seq)
                bar.update(1)
            written[split] = names
            if layout == "got10k":
                write_text(os.path.join(out, split, "list.txt"), _lines(names))
            elif layout == "lasot":
                list_name = {"test": "testing_set.txt", "train": "training_set.txt", "ext": "extension_set.txt"}[split]
                write_text(os.path.join(out, list_name), _lines(names))
            elif layout == "vot":
                write_text(os.path.join(out, "list.txt"), _lines(names))
    return {"root": out, "layout": layout, "splits": written}
