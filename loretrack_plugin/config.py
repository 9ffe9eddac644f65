"""One network configuration from which every size is derived.

The official code hard-codes sizes in several places that silently disagree (docs/method.md, pitfall P1); here the
search/template sizes, the token split, the feature grids and the heatmap size all come from
:class:`NetConfig`.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Optional, Tuple

#: the patch embeddings a network may use (NetConfig.patch_embed): the official linear patches or one of
#: the pretrained convolutional stems of models/stems.py
PATCH_EMBEDS = ("linear", "nanotrack-v3", "mobilenetv2")
#: what the centre head may read (NetConfig.head_input)
HEAD_INPUTS = ("tokens", "tokens+corr")
#: ImageNet statistics of the backbones' input normalisation (docs/method.md §3.4), RGB order
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
#: side in pixels of the ViT's patches (the token grid is size // PATCH): the one definition
PATCH = 16


class ConfigError(ValueError):
    """A configuration that cannot be used: a network that cannot be built (:class:`NetConfig`) or a
    training configuration that is malformed or inconsistent (:mod:`loretrack_plugin.train.config`).
    The one configuration error of the package."""


def default_template_size(search_size: int) -> int:
    """The LoReTrack pairing: the template crop is half the search crop. The one place of this rule
    (``make_config``, ``build_net_from_checkpoint`` overrides, training configs without ``template_size``)."""
    if isinstance(search_size, bool) or not isinstance(search_size, int) or search_size % (2 * PATCH):
        raise ConfigError(f"search_size={search_size!r}: give template_size explicitly "
                          f"(half of it is not a multiple of {PATCH})")
    return search_size // 2


@dataclass(frozen=True)
class NetConfig:
    """Architecture of an OSTrack/LoReTrack one-stream tracker.

    Attributes:
        search_size: side of the search crop in pixels (multiple of :data:`PATCH` = 16).
        template_size: side of the template crop in pixels (multiple of 16, <= search_size).
        embed_dim, depth, num_heads, mlp_ratio: ViT width/depth (default ViT-B/16: 768/12/12/4).
        head_channels: width of the first center-head conv (official 256; then /2, /4, /8).
        drop_path_rate: stochastic depth, spread linearly from 0 over the blocks (training only).
        ce_loc: 0-based indices of candidate-elimination blocks (empty = no CE, the LoReTrack case).
        ce_keep_ratio: fraction of search tokens each CE block keeps at test time.
        pretrain_img_size: image size of the ImageNet backbone whose ``pos_embed`` (1 + (s/16)^2 rows)
            and ``cls_token`` stay registered (unused in forward) for key compatibility.
        patch_embed: ``linear`` (the official 16x16 patches) or a pretrained convolutional stem cut at
            stride 16 and projected to ``embed_dim`` (``nanotrack-v3``, ``mobilenetv2``; models/stems.py).
        head_input: what the centre head reads: ``tokens`` (the official: the final search tokens) or
            ``tokens+corr`` (those plus the stem's template-search correlation, one channel per
            template cell; needs a convolutional stem).
        stem_zoom: a convolutional stem sees its input up-sampled this many times (bilinear) and its map
            is average-pooled back by the same factor, so the token grid stays ``size / 16``. At 2, a
            128 px crop reaches the stem at the pixel scale of a 256 px crop (what its weights were
            trained at) for about four times the stem's cost; 1 (the default) feeds the crop as it is.
    """

    search_size: int = 256
    template_size: int = 128
    embed_dim: int = 768
    depth: int = 12
    num_heads: int = 12
    mlp_ratio: float = 4.0
    head_channels: int = 256
    patch_embed: str = "linear"
    head_input: str = "tokens"
    stem_zoom: int = 1
    # not architecture: the weights do not depend on them (see ARCH_FIELDS)
    drop_path_rate: float = field(default=0.0, metadata={"arch": False})
    ce_loc: Tuple[int, ...] = field(default_factory=tuple, metadata={"arch": False})
    ce_keep_ratio: float = field(default=0.7, metadata={"arch": False})
    pretrain_img_size: int = field(default=224, metadata={"arch": False})

    def __post_init__(self):
        object.__setattr__(self, "ce_loc", tuple(int(i) for i in (self.ce_loc or ())))
        for name in ("search_size", "template_size"):
            v = getattr(self, name)
            if not isinstance(v, int) or v <= 0 or v % PATCH:
                raise ConfigError(f"{name}={v!r} must be a positive multiple of {PATCH}")
        if self.template_size > self.search_size:
            raise ConfigError(f"template_size={self.template_size} is larger than search_size={self.search_size}")
        if self.embed_dim % self.num_heads:
            raise ConfigError(f"embed_dim={self.embed_dim} is not divisible by num_heads={self.num_heads}")
        if self.head_channels % 8:
            raise ConfigError(f"head_channels={self.head_channels} must be a multiple of 8")
        if self.pretrain_img_size % PATCH:
            raise ConfigError(f"pretrain_img_size={self.pretrain_img_size} must be a multiple of {PATCH}")
        if self.patch_embed not in PATCH_EMBEDS:
            raise ConfigError(f"patch_embed={self.patch_embed!r}: expected one of {list(PATCH_EMBEDS)}")
        if self.head_input not in HEAD_INPUTS:
            raise ConfigError(f"head_input={self.head_input!r}: expected one of {list(HEAD_INPUTS)}")
        if self.head_input == "tokens+corr" and self.patch_embed == "linear":
            raise ConfigError("head_input='tokens+corr' needs a convolutional stem (patch_embed), not 'linear'")
        if isinstance(self.stem_zoom, bool) or not isinstance(self.stem_zoom, int) or not 1 <= self.stem_zoom <= 4:
            raise ConfigError(f"stem_zoom={self.stem_zoom!r} must be an integer from 1 to 4")
        if self.stem_zoom > 1 and self.patch_embed == "linear":
            raise ConfigError("stem_zoom > 1 needs a convolutional stem (patch_embed), not 'linear'")
        bad = [i for i in self.ce_loc if not 0 <= i < self.depth]
        if bad:
            raise ConfigError(f"ce_loc {bad} outside 0..{self.depth - 1}")
        if not 0.0 < self.ce_keep_ratio <= 1.0:
            raise ConfigError(f"ce_keep_ratio={self.ce_keep_ratio} must be in (0, 1]")

    # ---- derived sizes -------------------------------------------------------------------------
    @property
    def feat_size(self) -> int:
        """F: side of the search token grid, score map and Hann window."""
        return self.search_size // PATCH

    @property
    def template_feat_size(self) -> int:
        return self.template_size // PATCH

    @property
    def num_search_tokens(self) -> int:
        return self.feat_size ** 2

    @property
    def num_template_tokens(self) -> int:
        return self.template_feat_size ** 2

    @property
    def pretrain_grid(self) -> int:
        return self.pretrain_img_size // PATCH

    @property
    def head_in_channels(self) -> int:
        """Channels of the centre head's input: the embedding width, plus one correlation channel per
        template cell under ``head_input: tokens+corr``."""
        return self.embed_dim + (self.num_template_tokens if self.head_input == "tokens+corr" else 0)

    @property
    def head_dim(self) -> int:
        return self.embed_dim // self.num_heads

    @property
    def mlp_hidden(self) -> int:
        """Hidden width of each block's MLP."""
        return int(self.embed_dim * self.mlp_ratio)

    def replace(self, **kw) -> "NetConfig":
        return dataclasses.replace(self, **kw)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["ce_loc"] = list(self.ce_loc)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "NetConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"unknown network config keys: {unknown}")
        return cls(**d)


#: every field of :class:`NetConfig`, in order (the keys a ``model:`` section may give)
NET_FIELDS: Tuple[str, ...] = tuple(f.name for f in dataclasses.fields(NetConfig))
#: the fields that define a network's weights (sizes and widths), compared when a checkpoint must be
#: "the network the config names" (a distillation teacher)
ARCH_FIELDS: Tuple[str, ...] = tuple(f.name for f in dataclasses.fields(NetConfig) if f.metadata.get("arch", True))


def make_config(search_size: int = 256, template_size: Optional[int] = None, **kw) -> NetConfig:
    """NetConfig with ``template_size`` defaulting to half the search size (:func:`default_template_size`)."""
    if template_size is None:
        template_size = default_template_size(search_size)
    return NetConfig(search_size=search_size, template_size=template_size, **kw)
