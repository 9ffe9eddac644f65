"""Inflating a trained network into a wider, deeper one that computes the same maps."""
import pytest
import torch

from loretrack_plugin import build_net
from loretrack_plugin.config import ConfigError
from loretrack_plugin.models.inflate import inflate_net, inflate_state_dict
from loretrack_plugin.tracking.backends import example_inputs


def _trained_like(seed=0, **kw):
    """A small network with every parameter and BN statistic random (not the init's zeros and ones),
    so that each tiled tensor matters."""
    torch.manual_seed(seed)
    net = build_net(64, 32, embed_dim=64, depth=2, num_heads=2, head_channels=16, **kw)
    with torch.no_grad():
        for name, t in net.state_dict().items():
            if t.is_floating_point():
                t.copy_(torch.rand_like(t) + 0.5 if name.endswith("running_var") else 0.3 * torch.randn_like(t))
    return net


def _maps(net, z, x):
    with torch.no_grad():
        out = net(z, x)
    return out["score_map"], out["size_map"], out["offset_map"]


def test_inflated_network_computes_the_same_maps():
    src = _trained_like()
    dst_cfg = src.cfg.replace(embed_dim=192, num_heads=6, depth=5, head_channels=48)
    big = inflate_net(src, dst_cfg)
    assert big.cfg.embed_dim == 192 and len(big.backbone.blocks) == 5
    z, x = example_inputs(src.cfg, seed=3)
    for a, b in zip(_maps(src, z, x), _maps(big, z, x)):
        assert torch.allclose(a, b, atol=2e-5, rtol=0), float((a - b).abs().max())
    # the inflation is not trivially the identity: a random network of that size computes other maps
    other = build_net(config=dst_cfg)
    assert (_maps(other, z, x)[0] - _maps(src, z, x)[0]).abs().max() > 1e-3


def test_added_blocks_compute_but_add_nothing():
    src = _trained_like(seed=1)
    sd = inflate_state_dict(src.state_dict(), src.cfg, src.cfg.replace(embed_dim=128, num_heads=4, depth=3,
                                                                       head_channels=32))
    assert sd["backbone.blocks.2.attn.qkv.weight"].abs().sum() > 0
    assert sd["backbone.blocks.2.mlp.fc1.weight"].abs().sum() > 0
    for k in ("attn.proj.weight", "attn.proj.bias", "mlp.fc2.weight", "mlp.fc2.bias"):
        assert not sd[f"backbone.blocks.2.{k}"].any()
    assert sd["backbone.blocks.1.attn.proj.weight"].any()


def test_inflation_to_other_crop_sizes_resizes_the_position_tables_like_the_loader():
    from loretrack_plugin import load_checkpoint
    src = _trained_like(seed=2)
    same_width = build_net(96, 48, embed_dim=64, depth=2, num_heads=2, head_channels=16)
    load_checkpoint(same_width, {"net": src.state_dict()})  # the loader's bicubic resize
    big = inflate_net(src, same_width.cfg.replace(embed_dim=128, num_heads=4, depth=4, head_channels=32))
    z, x = example_inputs(same_width.cfg, seed=5)
    for a, b in zip(_maps(same_width, z, x), _maps(big, z, x)):
        assert torch.allclose(a, b, atol=2e-5, rtol=0)


@pytest.mark.parametrize("change,word", [(dict(embed_dim=96, num_heads=3), "embed_dim"),
                                         (dict(embed_dim=128, num_heads=8), "head dim"),
                                         (dict(depth=1), "depth"),
                                         (dict(head_channels=24), "head_channels"),
                                         (dict(embed_dim=128, num_heads=4, mlp_ratio=3.0), "MLP")])
def test_sizes_that_cannot_hold_the_source_are_refused(change, word):
    src = _trained_like()
    with pytest.raises(ConfigError, match=word):
        inflate_net(src, src.cfg.replace(**change))


def test_a_stem_network_is_not_inflated_into_linear_patches():
    src = build_net(128, 64, embed_dim=64, depth=1, num_heads=1, head_channels=32, patch_embed="nanotrack-v3",
                    head_input="tokens+corr")
    dst = src.cfg.replace(embed_dim=128, depth=2, num_heads=2, head_channels=64, patch_embed="linear", head_input="tokens")
    with pytest.raises(ConfigError, match="cannot inflate patch_embed 'nanotrack-v3' into 'linear'"):
        inflate_net(src, dst)
