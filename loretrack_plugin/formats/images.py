"""Frames: the one image reader of the package, and the conversion of any pixel format to 8-bit RGB.

:func:`read_rgb` ``(path, decoder)`` -> (H, W, 3) uint8 RGB, with two decoders:

* ``"opencv"`` (default): ``cv2.imread(IMREAD_COLOR)``, BGR -> RGB, as the official tracker reads its
  frames (training data, the VOT TraX server, ``loretrack bench``);
* ``"pil"``: Pillow, as got10k hands frames to trackers (``loretrack eval``): 8-bit modes
  ``convert('RGB')``; 16- and 32-bit integer frames are scaled to 8 bits (:func:`to_rgb_uint8`)
  instead of being clipped to white.

A frame that is missing or cannot be decoded raises :class:`CorruptImageError`, whose message names
the file: ``cannot read frame <path> (<reason>)``, the reason being the system's (``No such file or
directory``) or the decoder's (``OSError: image file is truncated ...``, ``cannot be decoded``).

Nothing here imports torch; OpenCV and Pillow are imported when a frame is read.
"""
from __future__ import annotations

import errno
import os

import numpy as np

#: file extensions of frames in a sequence folder (compared in lower case)
IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp")
DECODERS = ("opencv", "pil")
# Pillow modes that ``convert('RGB')`` maps to 8-bit RGB the way got10k does
_PIL_8BIT_MODES = ("RGB", "RGBA", "L", "P", "CMYK", "YCbCr", "LA", "1")


class CorruptImageError(OSError, ValueError):
    """A frame that is missing or cannot be decoded: ``cannot read frame <path> (<reason>)``.

    An ``OSError`` (a file that cannot be read) and a ``ValueError`` (bad input: the command line
    reports it in one line, exit status 2). ``path`` and ``reason`` are kept as attributes.
    """

    def __init__(self, path: str, reason: str = "cannot be decoded"):
        super().__init__(f"cannot read frame {path} ({reason})")
        self.path = path
        self.reason = reason


def _reason(e: BaseException, path: str) -> str:
    """``e`` as a short reason, without repeating ``path``."""
    if isinstance(e, OSError) and e.strerror:
        return e.strerror
    text = " ".join(str(e).replace(f"'{path}'", "").replace(path, "").split()).strip(" :")
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def _uint16_to_uint8(a: np.ndarray) -> np.ndarray:
    # 65535 / 257 = 255 exactly: full 16-bit range onto the full 8-bit range, rounded
    return np.round(a.astype(np.float32) / 257.0).astype(np.uint8)


def _from_pil(image) -> np.ndarray:
    mode = image.mode
    if mode in ("RGB", "RGBA", "L"):
        return np.asarray(image)
    if mode.startswith("I;16") or mode == "I":
        a = np.asarray(image)
        if a.dtype != np.uint16:
            if a.size and (a.min() < 0 or a.max() > 65535):
                raise ValueError(f"frame: 32-bit integer image with values outside 0..65535 "
                                 f"({a.min()}..{a.max()}); convert it to 8-bit RGB")
            a = a.astype(np.uint16)
        return a
    return np.asarray(image.convert("RGB"))


def to_rgb_uint8(frame) -> np.ndarray:
    """Frame -> contiguous (H, W, 3) uint8 RGB.

    Accepted: (H, W, 3) uint8 RGB; grayscale (H, W) or (H, W, 1) (replicated to 3 channels); RGBA
    (H, W, 4) (alpha dropped); 16-bit (uint16) frames of any of these layouts (scaled by 255/65535 and
    rounded); PIL images of any mode. Anything else raises ValueError.
    """
    if hasattr(frame, "mode") and hasattr(frame, "convert"):  # PIL.Image without importing PIL
        frame = _from_pil(frame)
    a = np.asarray(frame)
    if a.dtype == np.uint16:
        a = _uint16_to_uint8(a)
    elif a.dtype != np.uint8:
        raise ValueError(f"frame: unsupported pixel type {a.dtype} (pass uint8 RGB, or uint16)")
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim == 2:
        a = np.repeat(a[:, :, None], 3, axis=2)
    elif a.ndim == 3 and a.shape[2] == 4:
        a = a[:, :, :3]
    elif not (a.ndim == 3 and a.shape[2] == 3):
        raise ValueError(f"frame: expected an (H, W, 3) RGB image, got shape {a.shape}")
    if a.shape[0] < 1 or a.shape[1] < 1:
        raise ValueError(f"frame: empty image of shape {a.shape}")
    return np.ascontiguousarray(a)


def _decode_opencv(path: str) -> np.ndarray:
    import cv2
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None or img.size == 0:
        raise CorruptImageError(path)
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def _decode_pil(path: str) -> np.ndarray:
    from PIL import Image
    try:
        with Image.open(path) as im:
            if im.mode in _PIL_8BIT_MODES:
                return np.asarray(im.convert("RGB"))
            return to_rgb_uint8(im)
    except Exception as e:  # noqa: BLE001 - truncated, corrupt, unsupported: one message naming the file
        raise CorruptImageError(path, _reason(e, path)) from e


def read_rgb(path: str, decoder: str = "opencv") -> np.ndarray:
    """An image file -> (H, W, 3) uint8 RGB; :class:`CorruptImageError` naming the file if impossible."""
    path = os.fspath(path)
    if decoder not in DECODERS:
        raise ValueError(f"image decoder {decoder!r}: expected one of {DECODERS}")
    if not os.path.isfile(path):  # missing, a dangling link or a folder: the same reason for both decoders
        raise CorruptImageError(path, os.strerror(errno.ENOENT) if not os.path.exists(path) else "not a file")
    return _decode_opencv(path) if decoder == "opencv" else _decode_pil(path)


def image_size(path: str):
    """(width, height) of an image file from its header (no decoding); CorruptImageError if unreadable."""
    from PIL import Image
    try:
        with Image.open(path) as im:
            return im.size
    except Exception as e:  # noqa: BLE001 - PIL raises many types for damaged files
        raise CorruptImageError(path, _reason(e, path)) from None
