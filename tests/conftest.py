"""Shared fixtures. Tests run on CPU with small networks; torch uses one thread per test process."""
import importlib.util
import os

import pytest
import torch

from loretrack_plugin.sample_data import real_sample_root

os.environ.setdefault("MPLBACKEND", "Agg")
torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The real sequences the tests run on: the sample that ships inside the package (Biker, Crossing,
# MountainBike6, vot15_bag), so a fresh clone needs nothing beside it.
REAL_OTB = real_sample_root()


@pytest.fixture(scope="session")
def real_otb_root():
    return REAL_OTB


def tiny_net_kwargs(**kw):
    """A small network (width 64, 2 blocks, 4 heads) for fast tests."""
    d = dict(embed_dim=64, depth=2, num_heads=4, head_channels=32)
    d.update(kw)
    return d


def load_script(relpath: str):
    """A script of the repository (``experiments/...``) imported as a module, by its path."""
    path = os.path.join(REPO, relpath)
    spec = importlib.util.spec_from_file_location(os.path.splitext(os.path.basename(path))[0], path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
