"""Synthetic benchmarks (small frames, few sequences) and a tiny-network tracker file, built once."""

import pytest

from loretrack_plugin.synthetic import make_dataset
from tests.conftest import tiny_net_kwargs

SIZE = (128, 96)


@pytest.fixture(scope="session")
def synth(tmp_path_factory):
    """Roots of synthetic lasot (3 x 24 frames), got10k val+test (2 x 20), otb (3 x 20), trackingnet (2 x 15)."""
    base = tmp_path_factory.mktemp("synth")
    roots = {}
    for layout, n, frames, splits in (("lasot", 3, 24, None), ("got10k", 2, 20, ("val", "test")),
                                      ("otb", 3, 20, None), ("trackingnet", 2, 15, None)):
        roots[layout] = str(base / layout)
        make_dataset(layout, roots[layout], n, frames, seed=1, splits=splits, image_size=SIZE)
    return roots


@pytest.fixture(scope="session")
def tiny_tracker_file(tmp_path_factory):
    """A tracker YAML pointing to a random-weights tiny network checkpoint (64/32 px, 2 blocks)."""
    from loretrack_plugin import build_net, save_checkpoint
    d = tmp_path_factory.mktemp("tiny_tracker")
    net = build_net(search_size=64, template_size=32, **tiny_net_kwargs())
    save_checkpoint(net, str(d / "tiny.pth.tar"), epoch=1)
    path = d / "tiny-64.yaml"
    path.write_text("name: tiny-64\ndescription: random-weights test network\nsearch_factor: 4.0\n"
                    "template_factor: 2.0\ncheckpoint: ./tiny.pth.tar\nbackend: eager\nthreads: 1\n")
    return str(path)
