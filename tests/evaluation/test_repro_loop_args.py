"""experiments/mini_repro/run.py and experiments/mini/ship.py: the loop options they take."""
import pytest

from tests.conftest import load_script


@pytest.mark.parametrize("bad", ["0", "1.5", "fast", "-0.3"])
def test_repro_refuses_a_bad_size_lr_before_training(bad, tmp_path):
    run = load_script("experiments/mini_repro/run.py")
    with pytest.raises(SystemExit) as e:
        run.main(["--out", str(tmp_path / "out"), "--size-lr", bad, "--real-data", str(tmp_path)])
    assert "--size-lr" in str(e.value.code) and repr(bad) in str(e.value.code)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("bad", ["0", "2", "x"])
def test_ship_refuses_a_bad_size_lr(bad, tmp_path, capsys):
    ship = load_script("experiments/mini/ship.py")
    with pytest.raises(SystemExit) as e:
        ship.main(["--student", str(tmp_path), "--size-lr", bad])
    assert e.value.code == 2 and "--size-lr" in capsys.readouterr().err


def test_loop_phrase_names_what_departs_from_the_official_loop():
    phrase = load_script("experiments/mini_repro/run.py").loop_phrase
    assert phrase(None, None) == "official"
    assert phrase(None, 0.3) == "size damped (size_lr 0.3)"
    assert phrase(1.02, 0.5) == "size change limited to x1.02 per frame and size damped (size_lr 0.5)"

