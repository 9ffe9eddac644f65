import subprocess
import sys

from loretrack_plugin.config import make_config
from loretrack_plugin.profiling import count_macs, count_params, profile_config
from loretrack_plugin import build_net


def test_vitb_macs_match_the_published_thop_figures():
    # docs/method.md §6.6: thop-style 4.1 / 7.3 / 16.3 / 29.0 / 65.3 G, with attention 4.1 / 7.4 / 16.9 / 30.9 / 74.9
    expected = {96: (4.1, 4.1), 128: (7.3, 7.4), 192: (16.3, 16.9), 256: (29.0, 30.9), 384: (65.3, 74.9)}
    for s, (thop, attn) in expected.items():
        r = profile_config(make_config(s))
        assert round(r["gmacs_thop"], 1) == thop and round(r["gmacs_attn"], 1) == attn, (s, r)
        assert round(r["params_thop_m"], 1) == 92.1


def test_macs_by_hand_for_a_tiny_network():
    net = build_net(32, 16, embed_dim=16, depth=1, num_heads=2, head_channels=8)
    m = count_macs(net)
    N, C = 1 + 4, 16  # 1 template + 4 search tokens
    linear = N * C * (3 * C) + N * C * C + N * C * 4 * C + N * 4 * C * C
    patch = N * C * 3 * 16 * 16
    px = 4  # 2x2 search grid
    convs = 3 * px * (C * 9 * 8 + 8 * 9 * 4 + 4 * 9 * 2 + 2 * 9 * 1) + px * 1 * (1 + 2 + 2)
    bn = 3 * 2 * px * (8 + 4 + 2 + 1)
    assert m["macs_thop"] == linear + patch + convs + bn
    assert m["macs_attn_matmul"] == 2 * N * N * C
    p = count_params(net)
    # not in thop modules: cls_token, the 224-px pos_embed (1 + 14*14 rows), pos_embed_z (1 row), pos_embed_x (4)
    assert p["params"] - p["params_thop"] == C + (1 + 196) * C + 1 * C + 4 * C


def test_profile_command_prints_the_table():
    out = subprocess.run([sys.executable, "-m", "loretrack_plugin", "profile", "--resolutions", "96,256",
                          "--no-latency"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    row = next(line.split() for line in out.stdout.splitlines() if line.strip().startswith("256/128"))
    assert row[3:5] == ["29.0", "30.9"]
    bad = subprocess.run([sys.executable, "-m", "loretrack_plugin", "profile", "--resolutions", "100"],
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "multiple of 16" in bad.stderr and "Traceback" not in bad.stderr
