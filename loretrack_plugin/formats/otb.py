"""OTB-layout sequence folders: the one reader that training, evaluation and the tools share.

Layout: ``<root>/<Seq>/img/<frame>`` (``.jpg``, ``.jpeg``, ``.png`` or ``.bmp``) and
``<root>/<Seq>/groundtruth_rect.txt`` (one ``x,y,w,h`` row, or one 4-corner polygon, per frame, see
:mod:`loretrack_plugin.formats.boxes`; ``groundtruth.txt`` is accepted when there is no
``groundtruth_rect*.txt``). ``<root>`` may also be one sequence folder itself.

Policy (the same for every caller):

* **frame order** (:func:`list_frames`, the one rule for every folder of frames the package lists):
  frames are ordered by the number in their names, the last run of digits (``2.jpg`` before
  ``10.jpg``; ``img0001.jpg``, ``frame_9.png`` and ``00010.jpg`` all work), never by the names as
  strings. A folder whose order is ambiguous -- two frames with the same number (``1.jpg`` and
  ``01.jpg``), or a frame without a number beside others -- is an error naming the folder and two
  of the clashing files. Hidden files (``.<name>``) are not frames;
* **frames and boxes correspond one to one**: a sequence whose frame count differs from its box
  count is an error naming both (``<gt file>: 3 boxes for 6 frames in <Seq>/img``), never silently
  truncated. The one exception are the five OTB-2015 sequences whose frame lists got10k trims
  (David, Football1, Freeman3, Freeman4, Diving): when their counts differ, their frames are cut the
  way got10k cuts them;
* **multi-target sequences**: several ``groundtruth_rect.<n>.txt`` files (OTB's Jogging, Skating2)
  give one sequence each, named ``<Seq>.1``, ``<Seq>.2``, ... in the order of ``n`` (as got10k names
  them). Empty extra files are skipped (got10k's Human4); a sequence whose only ground truth is empty
  is kept, so that loading it is an error naming the file instead of a sequence silently left out;
* **invalid frames**: ``NaN`` rows and rows with a width or height <= 0 are kept; readers mark those
  frames invalid;
* folders whose name starts with ``.`` (e.g. half-written temporary folders) are ignored; a root
  without any sequence is an error saying what was expected.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from .boxes import read_boxes
from .images import IMAGE_EXTS

_GT_FILE = re.compile(r"groundtruth_rect(?:\.(\d+))?\.txt")
_DIGITS = re.compile(r"\d+")
#: got10k trims these OTB sequences to their annotated frames (``got10k.datasets.OTB.__getitem__``)
GOT10K_TRIMS = {"david": slice(299, 770), "football1": slice(0, 74), "freeman3": slice(0, 460),
                "freeman4": slice(0, 283), "diving": slice(0, 215)}


@dataclass(frozen=True)
class OtbSequence:
    """One target of an OTB-layout folder: its name, the folder and its ground-truth file."""
    name: str
    folder: str
    gt_file: str

    @property
    def img_dir(self) -> str:
        return os.path.join(self.folder, "img")

    def load(self) -> Tuple[List[str], np.ndarray]:
        """(frame paths, (N, 4) boxes) with as many frames as boxes (see the module's policy)."""
        boxes = read_boxes(self.gt_file)
        frames = frame_files(self.folder)
        trim = GOT10K_TRIMS.get(os.path.basename(os.path.normpath(self.folder)).lower())
        if len(frames) != len(boxes) and trim is not None:
            frames = frames[trim]
        if len(frames) != len(boxes):
            raise ValueError(f"{self.gt_file}: {len(boxes)} boxes for {len(frames)} frames in {self.img_dir}")
        return frames, boxes


def frame_number(name: str) -> Optional[int]:
    """The number a frame file's name carries: the last run of digits before the extension (None if
    there is none). The last run, because prefixes may hold digits too (``cam2_0001.jpg``)."""
    found = _DIGITS.findall(os.path.splitext(name)[0])
    return int(found[-1]) if found else None


def _ambiguity(names: Sequence[str]) -> Optional[Tuple[str, str, str]]:
    """(first name, second name, why) for two names that the frame number cannot order, or None."""
    seen: Dict[int, str] = {}
    unnumbered = [n for n in names if frame_number(n) is None]
    if unnumbered and len(names) > 1:
        other = next(n for n in names if n != unnumbered[0])
        return unnumbered[0], other, f"{unnumbered[0]} carries no frame number"
    for n in names:
        k = frame_number(n)
        if k in seen:
            return seen[k], n, f"both carry frame number {k}"
        seen[k] = n
    return None


def order_frames(folder: str, names: Iterable[str]) -> List[str]:
    """``names`` (frame files of ``folder``) in frame order; ``ValueError`` naming ``folder`` and two
    clashing files when that order is ambiguous (see the module's policy)."""
    # string order first, so that the files an error names do not depend on the listing order
    names = sorted(names)
    clash = _ambiguity(names)
    if clash is not None:
        a, b, why = clash
        raise ValueError(f"{folder}: frame order is ambiguous: {a} and {b} ({why}); "
                         "name the frames by number (1.jpg, 2.jpg, ... or 0001.jpg, 0002.jpg, ...)")
    return sorted(names, key=frame_number)


def list_frames(folder: str, exts: Sequence[str] = IMAGE_EXTS) -> List[str]:
    """Paths of the frame files in ``folder`` (extensions ``exts``, any case), in frame order."""
    # hidden files are side files of other tools (macOS ``._0001.jpg``, half-written copies), never frames
    names = [f for f in os.listdir(folder) if not f.startswith(".") and f.lower().endswith(tuple(exts))]
    return [os.path.join(folder, f) for f in order_frames(folder, names)]


def frame_files(folder: str) -> List[str]:
    """Paths of the frames in ``<folder>/img``, in frame order (:func:`list_frames`)."""
    return list_frames(os.path.join(folder, "img"))


def _gt_files(folder: str) -> List[str]:
    """Ground-truth files of a sequence folder, in target order (the plain file first, then by ``n``)."""
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    found = sorted((int(m.group(1) or 0), f) for f in names for m in [_GT_FILE.fullmatch(f)] if m)
    files = [os.path.join(folder, f) for _, f in found]
    if not files and os.path.isfile(os.path.join(folder, "groundtruth.txt")):
        files = [os.path.join(folder, "groundtruth.txt")]
    return files


def sequence_targets(folder: str) -> List[OtbSequence]:
    """The targets of one sequence folder ([] if it is not one: no ``img/`` or no ground truth)."""
    if not os.path.isdir(os.path.join(folder, "img")):
        return []
    files = _gt_files(folder)
    files = [f for f in files if os.path.getsize(f) > 0] or files[:1]
    base = os.path.basename(os.path.normpath(folder))
    return [OtbSequence(base if len(files) == 1 else f"{base}.{k}", folder, f) for k, f in enumerate(files, 1)]


def find_otb_sequences(root: str) -> List[OtbSequence]:
    """Every target under ``root`` (or of ``root`` itself when it is a sequence folder), sorted by folder."""
    root = os.fspath(root)
    if not os.path.isdir(root):
        raise FileNotFoundError(f"dataset folder not found: {root}")
    seqs = sequence_targets(root)
    if not seqs:
        for d in sorted(os.listdir(root)):
            if not d.startswith("."):
                seqs += sequence_targets(os.path.join(root, d))
    if not seqs:
        raise FileNotFoundError(f"{root} holds no OTB-layout sequence: expected "
                                f"{os.path.join(root, '<Seq>', 'groundtruth_rect.txt')} and "
                                f"{os.path.join(root, '<Seq>', 'img', '0001.jpg')}")
    return seqs


def list_otb_sequences(root: str) -> List[str]:
    """Sequence folders under ``root`` (``root`` itself if it is one), sorted."""
    return list(dict.fromkeys(s.folder for s in find_otb_sequences(root)))


def load_otb_sequence(seq: Union[str, OtbSequence]) -> Tuple[List[str], np.ndarray]:
    """(frame paths, boxes) of a sequence folder (its first target) or of an :class:`OtbSequence`."""
    if not isinstance(seq, OtbSequence):
        targets = sequence_targets(os.fspath(seq))
        if not targets:
            raise FileNotFoundError(f"{seq} is not an OTB-layout sequence folder: expected "
                                    f"{os.path.join(seq, 'groundtruth_rect.txt')} and "
                                    f"{os.path.join(seq, 'img', '0001.jpg')}")
        seq = targets[0]
    return seq.load()
