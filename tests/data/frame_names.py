"""Copies of OTB-layout folders whose frames carry other names (``1.jpg`` instead of ``0001.jpg``...),
for the tests of the frame-order rule."""
import os
import shutil


def unpadded(k: int) -> str:
    return f"{k}.jpg"


def renamed_copy(src: str, dst: str, name=unpadded) -> str:
    """``src`` (zero-padded frame names) copied to ``dst`` with frame ``k`` (1-based) of every sequence
    named ``name(k)``; returns ``dst``."""
    shutil.copytree(src, dst)
    for img in sorted(os.path.join(dst, s, "img") for s in os.listdir(dst)):
        frames = sorted(os.listdir(img))   # padded names: string order is frame order
        for k, frame in enumerate(frames, 1):
            target = os.path.join(img, name(k))
            assert not os.path.exists(target), target
            os.rename(os.path.join(img, frame), target)
    return dst
