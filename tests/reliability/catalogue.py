"""The bad-input catalogue: every bad input the project promises to survive, and what the user sees.

This list is the one place that names the cases. Each one is run end to end through the command line
(``loretrack eval / train / distill`` and the TraX server) by a test of this folder marked
``@case("<id>")``; ``test_catalogue.py`` checks that every case has a test and a row in docs/reliability.md's
reliability table, and that no test claims a case that is not listed here.

``sees`` is the exit status and the one error line (``<...>`` stands for the offending path or value).
"""
from dataclasses import dataclass
from typing import Tuple


@dataclass(frozen=True)
class Case:
    id: str
    command: str
    what: str     # the bad input, as the table of docs/reliability.md names it
    sees: str     # exit status and the one line the user sees (or what is survived)


CASES: Tuple[Case, ...] = (
    # ---- the dataset given to `loretrack eval`
    Case("missing-root", "eval", "`--root` does not exist",
         "exit 2: `dataset root not found: <root>`"),
    Case("wrong-layout", "eval", "`--root` in another benchmark's layout",
         "exit 2: `<root> is not a LaSOT test folder: expected <root>/<class>/<seq>/groundtruth.txt ...`"),
    Case("missing-sequences", "eval", "dataset folder with missing sequences",
         "exit 0, the sequences present are run; warning `lasot: 278 of 280 sequences are not on disk and are "
         "skipped: ...`; `--sequences` naming an absent one: exit 2 `--sequences: <name> not on disk`"),
    Case("short-gt", "eval", "ground truth shorter than the frames",
         "exit 2: `cannot load sequence <seq> from <dir>: <gt file>: 3 boxes for 6 frames in <dir>/img`"),
    Case("garbage-gt", "eval", "garbage ground truth (not numbers)",
         "exit 2: `... <gt file>: not a box file (not text: invalid start byte at byte 14)` (or `(could not "
         "convert string 'hello' ...)`)"),
    Case("empty-gt", "eval", "empty ground-truth file",
         "exit 2: `... <gt file>: empty box file` (the sequence is no longer silently left out)"),
    Case("empty-img", "eval", "empty `img/` folder",
         "exit 2: `... <gt file>: 6 boxes for 0 frames in <dir>/img`"),
    Case("unpadded-frame-names", "eval", "frames named `1.jpg` ... `12.jpg` (no zero padding)",
         "exit 0: frames taken in the order of their numbers; results identical to the same sequence named "
         "`0001.jpg` ... `0012.jpg`"),
    Case("ambiguous-frame-names", "eval", "frame names of ambiguous order (`1.jpg` and `01.jpg`, or a name without "
         "a number among numbered ones)",
         "exit 2: `cannot load sequence <seq> from <dir>: <dir>/img: frame order is ambiguous: 01.jpg and 1.jpg "
         "(both carry frame number 1); ...` (or `(cover.jpg carries no frame number)`)"),
    Case("polygon-gt", "eval", "ground truth of VOT polygons (8 numbers per row)",
         "exit 0: each polygon read as its axis-aligned bounding box; results identical to a ground truth of "
         "those boxes"),
    Case("mixed-gt-rows", "eval", "ground truth mixing rows of 4 and of 8 numbers",
         "exit 2: `... <gt file>:<line>: 8 numbers (a 4-corner polygon x1,y1,...,x4,y4) after rows of 4 from "
         "line 1; a box file holds one kind of row`"),
    Case("zero-area-box", "eval", "zero-area initial box",
         "exit 2: `sequence <seq>: the first box of <gt file> cannot start a tracker: init box [...]: width and "
         "height must be positive ...`"),
    Case("nan-box", "eval", "NaN initial box",
         "exit 2: `sequence <seq>: the first box of <gt file> cannot start a tracker: init box [nan, ...]: contains "
         "NaN or infinity`"),
    Case("outside-box", "eval", "initial box outside the frame",
         "exit 2: `sequence <seq>: the first box of <gt file> cannot start a tracker: init box [...]: entirely "
         "outside the 96x72 frame`"),
    Case("nan-and-absent-rows", "eval", "ground truth with NaN rows and absent-target `0,0,0,0` rows (LaSOT style)",
         "exit 0: results, got10k report and metrics.json with finite numbers (rows without a box are left out of "
         "the scores as got10k does)"),
    Case("corrupt-frame", "eval", "truncated JPEG in the middle of a sequence",
         "exit 1: `<tracker> on <seq> failed: cannot read frame <frame path> (OSError: image file is truncated "
         "...)`; the other sequences are run and written"),
    Case("not-an-image-frame", "eval", "frame file that is not an image",
         "exit 1: `<tracker> on <seq> failed: cannot read frame <frame path> (UnidentifiedImageError: cannot "
         "identify image file)`"),
    Case("unreadable-frame", "eval", "unreadable frame (dangling link) in the middle of a sequence",
         "exit 1: `<tracker> on <seq> failed: cannot read frame <frame path> (No such file or directory)`"),
    Case("grayscale-frames", "eval", "grayscale JPEG frames",
         "exit 0: frames replicated to RGB; results written"),
    Case("png16-frames", "eval", "16-bit PNG frames",
         "exit 0: scaled to 8 bits (x 255/65535), the same boxes as on the 8-bit frames"),
    Case("rgba-frames", "eval", "RGBA PNG frames",
         "exit 0: alpha dropped, the same boxes as on the RGB frames"),
    Case("bad-arguments", "eval", "malformed `--shard`, `--checkpoint`, `--workers`, `--sequences`, `--backend`",
         "exit 2: `--shard '3/2': shards are numbered 1..n ...`, `--checkpoint 'x': expected NAME=PATH`, "
         "`--workers 0: must be at least 1`, `--sequences: unknown sequence(s) <name> ...`, "
         "`--backend: backend 'int8' does not ship for tracking: ...`"),
    # ---- the tracker and its weights
    Case("unknown-tracker", "eval", "unknown tracker name",
         "exit 2: `unknown tracker '<name>': known trackers are ...`"),
    Case("missing-checkpoint", "eval", "checkpoint file that does not exist",
         "exit 2: `checkpoint for tracker '<name>' not found: <path> ...`"),
    Case("truncated-checkpoint", "eval", "truncated checkpoint",
         "exit 2: `tracker '<name>' cannot be built: <path>: not a readable PyTorch checkpoint (...)`"),
    Case("text-checkpoint", "eval", "text file given as checkpoint",
         "exit 2: `tracker '<name>' cannot be built: <path>: not a readable PyTorch checkpoint (...)`"),
    Case("malicious-pickle", "eval", "checkpoint carrying a malicious pickle payload",
         "exit 2: `tracker '<name>' cannot be built: <path>: ...`; the payload never runs"),
    Case("wrong-resolution-checkpoint", "eval", "checkpoint trained at another resolution",
         "exit 0 with warnings `checkpoint resized pos_embed_x from 8x8 to 4x4 (bicubic)` (and `pos_embed_z`)"),
    Case("other-architecture", "eval", "checkpoint of another architecture (a ResNet state dict)",
         "exit 2: `tracker '<name>' cannot be built: <path>: not an OSTrack/LoReTrack state dict (cannot read "
         "'backbone.patch_embed.proj.weight')`"),
    # ---- OpenCV's trackers (the CPU peers)
    Case("peer-missing-onnx", "eval", "`opencv-nano` whose neck/head ONNX file is missing beside its backbone",
         "exit 2, nothing written: `tracker 'opencv-nano': neck/head ONNX file not found: <path>`"),
    Case("peer-not-in-opencv", "eval", "an OpenCV tracker the installed `cv2` lacks (`opencv-csrt`, `opencv-kcf` "
         "without the contrib build)",
         "exit 2, nothing written: `tracker 'opencv-csrt' needs cv2.TrackerCSRT, which the installed OpenCV <version> "
         "(opencv-python) lacks: it comes with opencv-contrib-python (install it in place of opencv-python, never "
         "beside it)`"),
    Case("peer-zero-size-box", "vot_trax", "zero-size initial box given to an OpenCV tracker",
         "TraX: the server exits with status 1 and one line `opencv-nano: init box [...]: width and height must be "
         "positive ...`; `eval`: exit 2, nothing written: `sequence <seq>: the first box of <gt file> cannot start "
         "a tracker: init box [...]: ...`"),
    # ---- where results go
    Case("unwritable-result-folder", "eval", "result folder that cannot be created (read-only, or a file in its path)",
         "exit 1 before anything runs: `cannot write <result dir>: <parent> is a file, not a folder` (or `: "
         "Permission denied`)"),
    Case("disk-full", "eval", "disk full while results are written",
         "exit 1 at the first write: `cannot write <result file>: No space left on device`; the run stops"),
    Case("kill-eval", "eval", "`kill -9` in the middle of `eval`, then the same command again",
         "the rerun skips the finished sequences and writes results byte-identical to an uninterrupted run"),
    # ---- training and distillation
    Case("bad-config", "train", "bad training config (unknown key, wrong type, invalid YAML)",
         "exit 2: `<config>: unknown config key 'foo'`, `<config>: config key 'optim.batch_size' must be a number, "
         "got 'four'`, `<config>: not valid YAML (...)`"),
    Case("missing-config", "train", "config file that does not exist",
         "exit 2: `config file not found: <config>`"),
    Case("missing-train-data", "train", "training dataset root that does not exist",
         "exit 2: `otb dataset root not found: <root>`"),
    Case("corrupt-train-frames", "train", "unreadable frames in the training data",
         "exit 0: the samples are skipped and counted (`corrupt_images` in the summary); warnings `skipped an "
         "unreadable frame (training continues): <frame path>`"),
    Case("unpadded-train-frames", "train", "training frames named `1.jpg` ... `24.jpg` (no zero padding)",
         "exit 0: weights identical to a run on the same frames named `0001.jpg` ... `0024.jpg`"),
    Case("ambiguous-train-frames", "train", "training sequence with frame names of ambiguous order",
         "exit 2 before the run folder is written: `<dir>/img: frame order is ambiguous: 0001.jpg and 1.jpg "
         "(both carry frame number 1); ...`"),
    Case("missing-teacher", "distill", "missing teacher (no `--teacher`, or a path that does not exist)",
         "exit 2: `distillation needs a teacher checkpoint: pass --teacher PATH ...` / "
         "`checkpoint not found: <path>`"),
    Case("bad-teacher", "distill", "teacher file that is not a checkpoint",
         "exit 2: `<path>: not a readable PyTorch checkpoint (...)`"),
    Case("unwritable-run-folder", "train", "run folder that cannot be created",
         "exit 1: `cannot create <output dir>: <parent> is a file, not a folder`"),
    Case("kill-train", "train", "`kill -9` in the middle of `train`, then `--resume`",
         "the resumed run ends with weights identical to an uninterrupted run"),
    # ---- the VOT toolkit side
    Case("trax-disconnect", "vot_trax", "TraX client that disconnects mid-sequence",
         "the server exits with status 1 and one line: `<tracker>: TraX session lost: ...`"),
)

IDS = tuple(c.id for c in CASES)


def case(*ids: str):
    """Mark a test as the one that runs these catalogue cases (checked by ``test_catalogue.py``)."""
    unknown = [i for i in ids if i not in IDS]
    if unknown:
        raise ValueError(f"not in the catalogue: {unknown}")

    def mark(fn):
        fn.catalogue_cases = ids
        return fn
    return mark
