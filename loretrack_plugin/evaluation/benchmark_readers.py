"""Benchmark readers for ``loretrack eval``: layout checks and partial-dataset handling.

Every reader has got10k's dataset interface (``seq_names``, ``len``, ``dataset[i or name]`` ->
``(img_files, anno)``) so got10k's experiment classes accept it, plus:

* ``missing``: names of the official list that are not on disk (they were dropped with a warning);
* ``seq_dirs``: one folder per sequence (for messages);
* ``visibility(name)``: per-frame target-visible flags (LaSOT: not full_occlusion and not
  out_of_view), or None;
* ``restrict(names)``: keep only those sequences, in that order.

A root that is not the named layout raises one ``FileNotFoundError`` naming the file that was
expected, e.g. ``<root>/airplane/airplane-1/groundtruth.txt``. Box files, flag files and OTB-layout
folders are read by the shared readers of :mod:`loretrack_plugin.formats`, and the readers here that
list frame folders themselves (LaSOT, TrackingNet) order them by its one rule
(:func:`~loretrack_plugin.formats.list_frames`: by the number in the names).
"""
from __future__ import annotations

import contextlib
import glob
import io
import logging
import os
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..formats import find_otb_sequences, list_frames, read_boxes, read_flags
from ..formats.sequence_names import lasot_class, lasot_names, otb_names

log = logging.getLogger("loretrack")


def quiet():
    """Silence got10k's prints (one line per missing sequence, per plot...)."""
    return contextlib.redirect_stdout(io.StringIO())


def _short_list(names: Sequence[str], n: int = 12) -> str:
    names = list(names)
    return ", ".join(names[:n]) + (f" ... (+{len(names) - n} more)" if len(names) > n else "")


def warn_missing(benchmark: str, missing: Sequence[str], total: int) -> None:
    if missing:
        log.warning("%s: %d of %d sequences are not on disk and are skipped: %s", benchmark, len(missing),
                    total, _short_list(missing))


class _Reader:
    """Shared parts: name lookup, restriction, missing list."""
    seq_names: List[str]
    seq_dirs: List[str]
    missing: List[str]

    def __len__(self) -> int:
        return len(self.seq_names)

    def index(self, key) -> int:
        if isinstance(key, str):
            try:
                return self.seq_names.index(key)
            except ValueError:
                raise KeyError(f"sequence {key!r} not found") from None
        return int(key)

    def restrict(self, names: Sequence[str]) -> None:
        idx = [self.index(n) for n in names]
        for attr in self._parallel_lists:
            setattr(self, attr, [getattr(self, attr)[i] for i in idx])

    _parallel_lists: Tuple[str, ...] = ("seq_names", "seq_dirs")

    def visibility(self, name: str) -> Optional[np.ndarray]:
        return None


class LaSOTDataset(_Reader):
    """LaSOT (``subset='test'``, 280 sequences) or its extension (``'ext'``, 150), LaSOT layout.

    ``<root>/<class>/<class>-<k>/img/00000001.jpg``, ``groundtruth.txt``, ``full_occlusion.txt``,
    ``out_of_view.txt``. got10k PyPI's own ``LaSOT`` class cannot be constructed; master lists all
    280 names and crashes on the first one missing. Here missing sequences are dropped with a warning.
    """
    _parallel_lists = ("seq_names", "seq_dirs", "anno_files")

    def __init__(self, root_dir: str, subset: str = "test"):
        self.root_dir, self.subset = root_dir, subset
        names = lasot_names(subset)
        dirs = [os.path.join(root_dir, lasot_class(n), n) for n in names]
        present = [os.path.isfile(os.path.join(d, "groundtruth.txt")) for d in dirs]
        if not any(present):
            label = "LaSOT extension" if subset == "ext" else f"LaSOT {subset}"
            raise FileNotFoundError(f"{root_dir} is not a {label} folder: expected {os.path.join(dirs[0], 'groundtruth.txt')} "
                                    f"(layout <class>/<class>-<k>/groundtruth.txt + img/00000001.jpg)")
        self.missing = [n for n, p in zip(names, present) if not p]
        self.seq_names = [n for n, p in zip(names, present) if p]
        self.seq_dirs = [d for d, p in zip(dirs, present) if p]
        self.anno_files = [os.path.join(d, "groundtruth.txt") for d in self.seq_dirs]

    def __getitem__(self, key):
        i = self.index(key)
        img_dir = os.path.join(self.seq_dirs[i], "img")
        img_files = list_frames(img_dir, exts=(".jpg",)) if os.path.isdir(img_dir) else []
        if not img_files:
            raise FileNotFoundError(f"no frames: expected {os.path.join(self.seq_dirs[i], 'img', '00000001.jpg')}")
        return img_files, read_boxes(self.anno_files[i])

    def flags(self, name: str) -> Dict[str, Optional[np.ndarray]]:
        """``full_occlusion`` / ``out_of_view`` 0/1 arrays (None when the file is absent)."""
        d = self.seq_dirs[self.index(name)]
        out = {}
        for att in ("full_occlusion", "out_of_view"):
            vals = read_flags(os.path.join(d, att + ".txt"))
            out[att] = None if vals is None else vals > 0
        return out

    def visibility(self, name: str) -> Optional[np.ndarray]:
        fl = self.flags(name)
        if fl["full_occlusion"] is None and fl["out_of_view"] is None:
            return None
        n = len(fl["full_occlusion"] if fl["full_occlusion"] is not None else fl["out_of_view"])
        hidden = np.zeros(n, bool)
        for v in fl.values():
            if v is not None:
                if len(v) != n:
                    raise ValueError(f"{self.seq_dirs[self.index(name)]}: full_occlusion.txt and out_of_view.txt "
                                     "have different lengths")
                hidden |= v
        return ~hidden


class OTBDirDataset(_Reader):
    """Any folder of OTB-layout sequences: ``<root>/<Seq>/img/*.jpg`` (or ``*.png``) + ``groundtruth_rect.txt``,
    read by :mod:`loretrack_plugin.formats.otb` (its policy: frame and box counts must agree, except for
    the OTB sequences that got10k trims; ``groundtruth_rect.<n>.txt`` files give targets ``<Seq>.<n>``)."""
    _parallel_lists = ("seq_names", "seq_dirs", "anno_files", "sequences")

    def __init__(self, root_dir: str):
        self.root_dir = root_dir
        self.sequences = find_otb_sequences(root_dir)
        self.seq_names = [s.name for s in self.sequences]
        self.seq_dirs = [s.folder for s in self.sequences]
        self.anno_files = [s.gt_file for s in self.sequences]
        self.missing = []

    def __getitem__(self, key):
        return self.sequences[self.index(key)].load()


def otb_dataset(root_dir: str, version=2015):
    """got10k's OTB class for ``version`` without its download step; missing sequences dropped."""
    from got10k.datasets import OTB

    class OfflineOTB(OTB):
        """got10k's OTB that never downloads (``ExperimentOTB`` forces ``download=True``)."""

        def _download(self, root_dir, version):
            return root_dir

    names = otb_names(version)
    if not os.path.isdir(root_dir) or not any(os.path.isdir(os.path.join(root_dir, n)) for n in names):
        raise FileNotFoundError(f"{root_dir} is not an OTB folder: expected "
                                f"{os.path.join(root_dir, sorted(names)[0], 'groundtruth_rect.txt')} (and img/0001.jpg)")
    with quiet():
        ds = OfflineOTB(root_dir, version, download=False)
    present = {os.path.basename(d) for d in ds.seq_dirs}
    ds.missing = [n for n in names if n not in present]
    _add_reader_api(ds, ("seq_names", "seq_dirs", "anno_files"))
    return ds


def _add_reader_api(ds, lists):
    """Give a got10k dataset object ``restrict``/``visibility``/``index`` (in place)."""

    def restrict(names, _ds=ds):
        idx = [_ds.seq_names.index(n) for n in names]
        for attr in lists:
            setattr(_ds, attr, [getattr(_ds, attr)[i] for i in idx])

    ds.restrict = restrict
    ds.visibility = lambda name: None
    ds.index = lambda key, _ds=ds: _ds.seq_names.index(key) if isinstance(key, str) else int(key)
    return ds


def got10k_dataset(root_dir: str, subset: str):
    """got10k's GOT10k class (``val``/``test``) restricted to the sequences that exist, layout-checked.

    Validation sequences must have ``groundtruth.txt``, ``meta_info.ini``, ``cover.label``,
    ``absence.label`` and ``cut_by_image.label`` (the val report loads them all).
    """
    from got10k.datasets import GOT10k
    list_file = os.path.join(root_dir, subset, "list.txt")
    if not os.path.isfile(list_file):
        raise FileNotFoundError(f"{root_dir} is not a GOT-10k folder: expected {list_file} "
                                f"(--root is the folder that holds {subset}/)")
    with quiet():
        ds = GOT10k(root_dir, subset=subset)
    required = ["groundtruth.txt"] + (["meta_info.ini", "cover.label", "absence.label", "cut_by_image.label"]
                                      if subset != "test" else [])
    keep, missing = [], []
    for i, d in enumerate(ds.seq_dirs):
        if not os.path.isdir(d):
            missing.append(ds.seq_names[i])
            continue
        for r in required:
            if not os.path.isfile(os.path.join(d, r)):
                raise FileNotFoundError(f"GOT-10k {subset} sequence incomplete: expected {os.path.join(d, r)}")
        keep.append(i)
    if not keep:
        raise FileNotFoundError(f"no sequence of {list_file} exists: expected "
                                f"{os.path.join(root_dir, subset, ds.seq_names[0], 'groundtruth.txt')}")
    for attr in ("seq_names", "seq_dirs", "anno_files"):
        setattr(ds, attr, [getattr(ds, attr)[i] for i in keep])
    ds.missing = missing
    return _add_reader_api(ds, ("seq_names", "seq_dirs", "anno_files"))


def uav123_dataset(root_dir: str, version: str = "UAV123"):
    """got10k's UAV123 without its "more than 3 entries in root" check; missing sequences dropped."""
    import json

    import got10k.datasets.uav123 as uav_module
    from got10k.datasets import UAV123

    class LocalUAV123(UAV123):
        def _check_integrity(self, root_dir, version):
            pass

    anno_dir = os.path.join(root_dir, "anno", version)
    with open(os.path.join(os.path.dirname(uav_module.__file__), "uav123.json")) as f:
        metas = json.load(f)[version]
    first = sorted(metas)[0]
    if not glob.glob(os.path.join(anno_dir, "*.txt")):
        raise FileNotFoundError(f"{root_dir} is not a UAV123 folder: expected {os.path.join(anno_dir, first + '.txt')} "
                                f"and {os.path.join(root_dir, 'data_seq', 'UAV123', metas[first]['folder_name'], '000001.jpg')}")
    ds = LocalUAV123(root_dir, version)
    keep = [i for i, (n, d) in enumerate(zip(ds.seq_names, ds.seq_dirs)) if n in metas and os.path.isdir(d)]
    ds.missing = sorted(set(metas) - {ds.seq_names[i] for i in keep})
    for attr in ("seq_names", "seq_dirs", "anno_files"):
        setattr(ds, attr, [getattr(ds, attr)[i] for i in keep])
    if not keep:
        raise FileNotFoundError(f"no UAV123 frames found: expected "
                                f"{os.path.join(root_dir, 'data_seq', 'UAV123', metas[first]['folder_name'], '000001.jpg')}")
    return _add_reader_api(ds, ("seq_names", "seq_dirs", "anno_files"))


def nfs_dataset(root_dir: str, fps: int = 30):
    """got10k's NfS at ``fps`` (30 as in the papers), layout ``<root>/<seq>/30/<seq>.txt`` + frames."""
    from got10k.datasets import NfS
    if not os.path.isdir(root_dir) or not glob.glob(os.path.join(root_dir, "*", str(fps), "*.txt")):
        raise FileNotFoundError(f"{root_dir} is not an NfS folder: expected "
                                f"{os.path.join(root_dir, '<seq>', str(fps), '<seq>.txt')} and "
                                f"{os.path.join(root_dir, '<seq>', str(fps), '<seq>', '00001.jpg')}")
    with quiet():
        ds = NfS(root_dir, fps)
    keep = [i for i, d in enumerate(ds.seq_dirs) if os.path.isdir(d)]
    ds.missing = [ds.seq_names[i] for i in range(len(ds.seq_names)) if i not in keep]
    for attr in ("seq_names", "seq_dirs", "anno_files"):
        setattr(ds, attr, [getattr(ds, attr)[i] for i in keep])
    return _add_reader_api(ds, ("seq_names", "seq_dirs", "anno_files"))


class TrackingNetTest(_Reader):
    """TrackingNet TEST split, got10k-master layout: ``TEST/anno/<seq>.txt`` (first box only) and
    ``TEST/frames/<seq>/0.jpg, 1.jpg, ...`` (frames in number order). ``anno`` is (1, 4)."""
    _parallel_lists = ("seq_names", "seq_dirs", "anno_files")

    def __init__(self, root_dir: str, chunk: str = "TEST"):
        self.root_dir = root_dir
        anno_dir = os.path.join(root_dir, chunk, "anno")
        annos = sorted(glob.glob(os.path.join(anno_dir, "*.txt")))
        if not annos:
            raise FileNotFoundError(f"{root_dir} is not a TrackingNet folder: expected {anno_dir}/<seq>.txt "
                                    f"and {os.path.join(root_dir, chunk, 'frames', '<seq>', '0.jpg')}")
        names = [os.path.basename(f)[:-4] for f in annos]
        dirs = [os.path.join(root_dir, chunk, "frames", n) for n in names]
        present = [os.path.isdir(d) for d in dirs]
        self.missing = [n for n, p in zip(names, present) if not p]
        self.seq_names = [n for n, p in zip(names, present) if p]
        self.seq_dirs = [d for d, p in zip(dirs, present) if p]
        self.anno_files = [a for a, p in zip(annos, present) if p]
        if not self.seq_names:
            raise FileNotFoundError(f"no TrackingNet frames found: expected {os.path.join(dirs[0], '0.jpg')}")

    def __getitem__(self, key):
        i = self.index(key)
        files = list_frames(self.seq_dirs[i], exts=(".jpg",))
        if not files:
            raise FileNotFoundError(f"no frames: expected {os.path.join(self.seq_dirs[i], '0.jpg')}")
        return files, read_boxes(self.anno_files[i])[:1]
