"""Shared fixtures. Tests run on CPU with small networks; torch uses one thread per test process."""
import os

import pytest
import torch

os.environ.setdefault("MPLBACKEND", "Agg")
torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REAL_OTB = os.environ.get("LORETRACK_REAL_OTB", os.path.join(os.path.dirname(REPO), "shared", "data", "real-otb"))


@pytest.fixture(scope="session")
def real_otb_root():
    if not os.path.isdir(REAL_OTB):
        pytest.fail(f"real OTB sequences not found at {REAL_OTB} (set LORETRACK_REAL_OTB)")
    return REAL_OTB


def tiny_net_kwargs(**kw):
    """A small network (width 64, 2 blocks, 4 heads) for fast tests."""
    d = dict(embed_dim=64, depth=2, num_heads=4, head_channels=32)
    d.update(kw)
    return d
