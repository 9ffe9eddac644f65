"""Small synthetic datasets in the real on-disk layouts, written once per test session."""
import os

import pytest


@pytest.fixture(scope="session")
def synthetic_roots(tmp_path_factory):
    from loretrack_plugin.synthetic import make_dataset
    base = tmp_path_factory.mktemp("synthetic")
    roots = {}
    for layout, split in (("got10k", "train"), ("lasot", "train"), ("trackingnet", "train"), ("otb", None)):
        out = os.path.join(base, layout)
        make_dataset(layout, out, sequences=2, frames=24, seed=3, splits=split, image_size=(160, 120))
        roots[layout] = out
    return roots
