"""The demo's ``--real-data`` folders go through the frame-order rule: unpadded names are read in number
order, and a folder of ambiguous names stops the demo before it writes anything."""
import os
import shutil

import pytest

from loretrack_plugin.demo import prepare_data
from loretrack_plugin.synthetic import make_dataset
from tests.data.frame_names import renamed_copy


@pytest.fixture
def real_unpadded(tmp_path):
    """Three OTB-layout sequences of 12 frames named 1.jpg ... 12.jpg."""
    padded = str(tmp_path / "padded")
    make_dataset("otb", padded, 3, 12, seed=2, image_size=(64, 48))
    return renamed_copy(padded, str(tmp_path / "real"))


def _prepare(out, folder):
    return prepare_data(str(out), [folder], seed=0, synthetic_train=1, synthetic_eval=1, frames=4)


def test_unpadded_real_data_is_taken(real_unpadded, tmp_path):
    from loretrack_plugin.data import OtbFolder
    data = _prepare(tmp_path / "out", real_unpadded)
    train, held = data["real_train"][real_unpadded], data["real_heldout"][real_unpadded]
    assert sorted(train + held) == sorted(os.listdir(real_unpadded)) and len(held) == 1
    ds = OtbFolder(real_unpadded, sequences=train)
    assert [os.path.basename(ds.frame_path(0, k)) for k in range(12)] == [f"{k}.jpg" for k in range(1, 13)]


def test_ambiguous_real_data_stops_before_anything_is_written(real_unpadded, tmp_path):
    img = os.path.join(real_unpadded, sorted(os.listdir(real_unpadded))[1], "img")
    shutil.copyfile(os.path.join(img, "2.jpg"), os.path.join(img, "02.jpg"))
    out = tmp_path / "out"
    with pytest.raises(ValueError, match=f"{img}: frame order is ambiguous: 02.jpg and 2.jpg"):
        _prepare(out, real_unpadded)
    assert not out.exists()
