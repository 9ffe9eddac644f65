"""Loading and saving tracker weights in the official OSTrack/LoReTrack key layout (docs/method.md §2).

Accepted inputs of :func:`load_checkpoint`:

* official OSTrack / LoReTrack ``.pth.tar`` files: ``{'net': state_dict, 'settings': <pickled
  lib.train.admin objects>, ...}``. Classes from modules that are not installed are replaced by inert
  stubs while unpickling: that code is never imported or run (docs/method.md, pitfall P14);
* this project's checkpoints (same layout plus a ``'loretrack'`` entry with the network config);
* plain state dicts (optionally with a DDP ``module.`` prefix);
* MAE ImageNet weights (``{'model': vit_state_dict}``, 224 px) as initialisation: the 14x14 table is
  resized bicubically to both grids (docs/method.md §1.2–1.3, §2.4) and the head keeps its random init.

A checkpoint whose position grids differ from the network's (a 384 file into a 256 network) has
``pos_embed_z/x`` resized bicubically, with a warning. Anything else that does not fit — missing,
unexpected or mis-shaped keys — raises one :class:`CheckpointError` that lists them, before any
weight is copied: a network is never half-loaded.
"""
from __future__ import annotations

import logging
import math
import os
import pickle
import types
import warnings
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Union

import torch

from .config import PATCH, NetConfig, default_template_size
from .models.net import TrackerNet
from .models.stems import PRETRAINED_DIR, STEMS, ConvStem
from .models.vit import resize_pos_embed
from .utils.files import atomic_path
from .version import __version__

log = logging.getLogger("loretrack")

StateDict = Dict[str, torch.Tensor]


class CheckpointError(ValueError):
    """A checkpoint that cannot be loaded into the given network."""


# ------------------------------------------------------------------------------------------------
# reading files without executing foreign code
# ------------------------------------------------------------------------------------------------
_SAFE_PREFIXES = ("torch", "collections", "numpy", "_codecs", "builtins", "copyreg", "argparse", "datetime",
                  "pathlib", "enum", "functools", "ml_dtypes")
_SAFE_BUILTINS = {"set", "frozenset", "slice", "complex", "dict", "list", "tuple", "int", "float", "bool", "str",
                  "bytes", "bytearray", "range", "object", "getattr"}


class _Stub:
    """Stands in for a pickled object whose class lives in a module that is not installed."""

    def __init__(self, *args, **kwargs):
        self._args, self._kwargs = args, kwargs

    def __setstate__(self, state):
        self._state = state

    def __repr__(self):
        return f"<stub {type(self).__module__}.{type(self).__qualname__}>"


class _StubbingUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        top = module.split(".")[0]
        if top in _SAFE_PREFIXES and (top != "builtins" or name in _SAFE_BUILTINS):
            return super().find_class(module, name)
        return type(name, (_Stub,), {"__module__": module, "__qualname__": name})


_stub_pickle = types.ModuleType("loretrack_stub_pickle")
_stub_pickle.Unpickler = _StubbingUnpickler
_stub_pickle.load = lambda f, **kw: _StubbingUnpickler(f, **kw).load()
_stub_pickle.__name__ = "loretrack_stub_pickle"


def _first_sentence(e: BaseException) -> str:
    """The first line of an error, cut after its first sentence (torch appends paragraphs of advice)."""
    text = str(e).splitlines()[0] if str(e) else ""
    return text.split(". ", 1)[0].rstrip(".") if ". " in text else text


def read_checkpoint_file(path: Union[str, os.PathLike]) -> Any:
    """``torch.load`` on CPU; foreign pickled classes become stubs (never imported or executed)."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"checkpoint not found: {path}")
    if os.path.isdir(path):
        raise CheckpointError(f"{path}: is a directory, not a checkpoint file")
    try:
        with warnings.catch_warnings():  # torch's note on a bare pickle's protocol would be a second line
            warnings.filterwarnings("ignore", message="Detected pickle protocol")
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        pass  # foreign classes (e.g. lib.train.admin.settings.Settings): load them as stubs below
    except Exception as e:  # truncated zip, text file, ...
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint ({type(e).__name__}: "
                              f"{_first_sentence(e)})") from None
    try:
        return torch.load(path, map_location="cpu", weights_only=False, pickle_module=_stub_pickle)
    except Exception as e:
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint ({type(e).__name__}: "
                              f"{_first_sentence(e)})") from None


# ------------------------------------------------------------------------------------------------
# recognising what a loaded object holds
# ------------------------------------------------------------------------------------------------
@dataclass
class LoadReport:
    """What :func:`load_checkpoint` did."""
    source: str
    kind: str  # 'official' | 'loretrack' | 'state_dict' | 'mae'
    epoch: Optional[int] = None
    config: Optional[dict] = None
    notes: List[str] = field(default_factory=list)


def _is_tensor_dict(d: Any) -> bool:
    return isinstance(d, Mapping) and len(d) > 0 and all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in d.items())


def extract_state_dict(obj: Any, source: str = "<object>"):
    """Return (state_dict, kind, meta) from whatever a checkpoint file contained."""
    meta: Dict[str, Any] = {}
    if isinstance(obj, Mapping) and "net" in obj and _is_tensor_dict(obj["net"]):
        kind = "loretrack" if isinstance(obj.get("loretrack"), Mapping) else "official"
        meta["epoch"] = obj.get("epoch") if isinstance(obj.get("epoch"), int) else None
        if kind == "loretrack":
            meta["config"] = dict(obj["loretrack"].get("config") or {}) or None
        sd = dict(obj["net"])
    elif isinstance(obj, Mapping) and "model" in obj and _is_tensor_dict(obj["model"]):
        sd, kind = dict(obj["model"]), "state_dict"
    elif isinstance(obj, Mapping) and "state_dict" in obj and _is_tensor_dict(obj["state_dict"]):
        sd, kind = dict(obj["state_dict"]), "state_dict"
    elif _is_tensor_dict(obj):
        sd, kind = dict(obj), "state_dict"
    else:
        keys = sorted(map(str, obj.keys()))[:12] if isinstance(obj, Mapping) else type(obj).__name__
        raise CheckpointError(f"{source}: no network weights found (expected a state dict, or a dict with "
                              f"'net' / 'model' / 'state_dict'; got {keys})")
    if sd and all(k.startswith("module.") for k in sd):
        sd = {k[len("module."):]: v for k, v in sd.items()}
    if kind == "state_dict" and _looks_like_bare_vit(sd):
        kind = "mae"
    return sd, kind, meta


def _looks_like_bare_vit(sd: Mapping[str, torch.Tensor]) -> bool:
    return "patch_embed.proj.weight" in sd and "blocks.0.attn.qkv.weight" in sd and \
        not any(k.startswith("backbone.") for k in sd)


# ------------------------------------------------------------------------------------------------
# adapting a state dict to a network
# ------------------------------------------------------------------------------------------------
def _grid(n_rows: int) -> Optional[int]:
    g = int(round(math.sqrt(n_rows)))
    return g if g * g == n_rows else None


def _resize_imagenet_table(table: torch.Tensor, grid: int) -> torch.Tensor:
    """(1, 1+g*g, C) cls + patch table -> (1, 1+grid^2, C)."""
    return torch.cat([table[:, :1], resize_pos_embed(table[:, 1:], grid)], dim=1)


def adapt_state_dict(sd: StateDict, net: TrackerNet, kind: str, notes: List[str]) -> StateDict:
    """Rename/resize ``sd`` to fit ``net`` (pure function of its inputs; the network is not touched)."""
    cfg = net.cfg
    sd = dict(sd)
    if kind == "mae":
        extra = sorted(k for k in sd if not (k in ("cls_token", "pos_embed") or k.startswith(
            ("patch_embed.", "blocks.", "norm."))))
        for k in extra:
            del sd[k]
        if extra:
            notes.append(f"ignored {len(extra)} non-encoder MAE entries ({', '.join(extra[:4])}"
                         f"{', ...' if len(extra) > 4 else ''})")
        sd = {"backbone." + k: v for k, v in sd.items()}
        table = sd.get("backbone.pos_embed")
        if table is None or table.dim() != 3 or _grid(table.shape[1] - 1) is None:
            raise CheckpointError("MAE weights without a square 'pos_embed' (1, 1+g*g, C) table")
        if _grid(table.shape[1] - 1) != cfg.pretrain_grid:
            sd["backbone.pos_embed"] = _resize_imagenet_table(table, cfg.pretrain_grid)
        patch_table = table[:, 1:]
        sd["backbone.pos_embed_x"] = resize_pos_embed(patch_table, cfg.feat_size)
        sd["backbone.pos_embed_z"] = resize_pos_embed(patch_table, cfg.template_feat_size)
        g = _grid(patch_table.shape[1])
        notes.append(f"MAE initialisation: pos_embed {g}x{g} resized bicubically to search {cfg.feat_size}x"
                     f"{cfg.feat_size} and template {cfg.template_feat_size}x{cfg.template_feat_size}; "
                     "box head keeps its random initialisation")
        for k, v in net.state_dict().items():
            if k.startswith("box_head."):
                sd[k] = v.clone()
        return sd

    for key, want in (("backbone.pos_embed_x", cfg.feat_size), ("backbone.pos_embed_z", cfg.template_feat_size)):
        t = sd.get(key)
        if t is None or t.dim() != 3 or t.shape[2] != cfg.embed_dim:
            continue
        g = _grid(t.shape[1])
        if g is not None and g != want:
            sd[key] = resize_pos_embed(t, want)
            msg = f"resized {key.split('.')[-1]} from {g}x{g} to {want}x{want} (bicubic)"
            notes.append(msg)
            log.warning("checkpoint %s", msg)
    _resample_corr_inputs(sd, cfg, notes)
    t = sd.get("backbone.pos_embed")
    if t is not None and t.dim() == 3 and t.shape[2] == cfg.embed_dim and t.shape[1] != 1 + cfg.pretrain_grid ** 2 \
            and _grid(t.shape[1] - 1) is not None:
        sd["backbone.pos_embed"] = _resize_imagenet_table(t, cfg.pretrain_grid)  # unused in forward
    return sd


def _resample_corr_inputs(sd: StateDict, cfg: NetConfig, notes: List[str]) -> None:
    """Fit the head's correlation inputs (``head_input: tokens+corr``) to another template grid.

    The first conv of each head branch reads the tokens and then one correlation channel per template
    cell (row-major). A checkpoint of another template size (a 192/96 teacher's weights in a 96/48
    network) has its correlation weights resampled on the template grid: area-averaged and scaled by
    the ratio of cell counts, so that a coarse cell that covers k fine cells (whose cosine scores it
    roughly averages) gets the sum of their weights. The token weights are copied unchanged.
    """
    if cfg.head_input != "tokens+corr":
        return
    want = cfg.template_feat_size
    C = cfg.embed_dim
    done = []
    for branch in ("ctr", "offset", "size"):
        key = f"box_head.conv1_{branch}.0.weight"
        w = sd.get(key)
        if w is None or w.dim() != 4 or w.shape[1] == cfg.head_in_channels or w.shape[1] <= C:
            continue
        g = _grid(w.shape[1] - C)
        if g is None:
            continue
        out, _, kh, kw = w.shape
        corr = w[:, C:].reshape(out, g, g, kh * kw).permute(0, 3, 1, 2).reshape(out * kh * kw, 1, g, g)
        corr = torch.nn.functional.interpolate(corr.float(), size=(want, want), mode="area") \
            if want <= g else torch.nn.functional.interpolate(corr.float(), size=(want, want), mode="nearest")
        corr = corr * (g * g) / (want * want)
        corr = corr.reshape(out, kh * kw, want * want).permute(0, 2, 1).reshape(out, want * want, kh, kw)
        sd[key] = torch.cat([w[:, :C], corr.to(w.dtype)], dim=1)
        done.append(g)
    if done:
        msg = f"resampled the head's correlation inputs from a {done[0]}x{done[0]} to a {want}x{want} template grid"
        notes.append(msg)
        log.warning("checkpoint %s", msg)


def check_compatible(sd: Mapping[str, torch.Tensor], net: torch.nn.Module, source: str) -> None:
    """Raise one CheckpointError listing every missing / unexpected / mis-shaped key."""
    own = net.state_dict()
    missing = [k for k in own if k not in sd]
    unexpected = [k for k in sd if k not in own]
    shapes = [f"{k}: checkpoint {tuple(sd[k].shape)} vs network {tuple(own[k].shape)}"
              for k in own if k in sd and tuple(sd[k].shape) != tuple(own[k].shape)]
    if not (missing or unexpected or shapes):
        return

    def fmt(title, items):
        head = ", ".join(items[:8])
        return f"{len(items)} {title} [{head}{', ...' if len(items) > 8 else ''}]"

    parts = [fmt(t, i) for t, i in (("missing", missing), ("unexpected", unexpected), ("mis-shaped", shapes)) if i]
    hint = ""
    if len(missing) == len(own):
        hint = " — this does not look like an OSTrack/LoReTrack checkpoint"
    elif shapes and "backbone.patch_embed.proj.weight" in sd and \
            sd["backbone.patch_embed.proj.weight"].shape[0] != net.cfg.embed_dim:
        hint = (f" — checkpoint width {sd['backbone.patch_embed.proj.weight'].shape[0]} != network width "
                f"{net.cfg.embed_dim}")
    raise CheckpointError(f"{source}: does not fit the network: " + "; ".join(parts) + hint)


def stem_state_dict(name: str, source: Optional[str] = None) -> Dict[str, torch.Tensor]:
    """A pretrained stem's weights as ``{features.*: tensor}`` from the file that ships with the package
    (``models/pretrained``) or ``source``, in the layout of its origin (NanoTrack: ``backbone.features.*``
    among its neck and head; MobileNetV2: ``features.*``); the layers past the stem's cut are left out."""
    spec = STEMS[name]
    path = source or os.path.join(PRETRAINED_DIR, spec.weights)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: weights of the {name} stem not found")
    obj = read_checkpoint_file(path)
    sd = obj.get("state_dict", obj) if isinstance(obj, dict) else obj
    if not _is_tensor_dict(sd):
        raise CheckpointError(f"{path}: not a state dict of tensors")
    keep = len(spec.build())
    out = {}
    for k, v in sd.items():
        if k.startswith(spec.key_prefix):
            rest = k[len(spec.key_prefix):]
            if int(rest.split(".", 1)[0]) < keep:
                out["features." + rest] = v.float() if v.is_floating_point() else v
    return out


def load_pretrained_stem(module: ConvStem, source: Optional[str] = None) -> None:
    """Load a stem's trained weights into ``module.stem`` strictly (every key present, every shape equal,
    as for every checkpoint); the projection keeps its initialisation."""
    sd = stem_state_dict(module.name, source)
    check_compatible(sd, module.stem, source or os.path.join(PRETRAINED_DIR, STEMS[module.name].weights))
    module.stem.load_state_dict(sd, strict=True)


def load_checkpoint(net: TrackerNet, checkpoint: Union[str, os.PathLike, Mapping[str, Any]],
                    verbose: bool = False) -> LoadReport:
    """Load weights into ``net`` (strictly, after the adaptations described in the module doc).

    ``checkpoint`` is a file path, a loaded checkpoint dict, or a state dict. Returns a
    :class:`LoadReport`; raises :class:`CheckpointError` (or FileNotFoundError) without touching
    ``net`` when the weights do not fit.
    """
    target = net.module if hasattr(net, "module") and isinstance(net.module, TrackerNet) else net
    if isinstance(checkpoint, (str, os.PathLike)):
        source = os.fspath(checkpoint)
        obj = read_checkpoint_file(source)
    else:
        source, obj = "<state dict>", checkpoint
    sd, kind, meta = extract_state_dict(obj, source)
    report = LoadReport(source=source, kind=kind, epoch=meta.get("epoch"), config=meta.get("config"))
    sd = adapt_state_dict(sd, target, kind, report.notes)
    check_compatible(sd, target, source)
    target.load_state_dict(sd, strict=True)
    if verbose:
        for n in report.notes:
            log.info("%s: %s", source, n)
    return report


# ------------------------------------------------------------------------------------------------
# saving, and building a network straight from a file
# ------------------------------------------------------------------------------------------------
def save_checkpoint(net: torch.nn.Module, path: Union[str, os.PathLike], epoch: Optional[int] = None,
                    **extra: Any) -> str:
    """Write ``{'net': state_dict, 'epoch', ...}`` atomically in the official layout.

    The official tracker reads only ``['net']`` (242 entries for ViT-B), so the file loads there
    unchanged; the ``'loretrack'`` entry records the network config for :func:`build_net_from_checkpoint`.
    Extra keyword entries (optimizer state, ...) are stored as given.
    """
    module = net.module if hasattr(net, "module") else net
    state = {k: v.detach().cpu() for k, v in module.state_dict().items()}
    obj = {"net": state, "epoch": epoch, "actor_type": "OSTrackActor", "net_type": "OSTrack",
           "net_info": None, "constructor": None,
           "loretrack": {"config": module.cfg.to_dict(), "version": __version__}}
    obj.update(extra)
    path = os.fspath(path)
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)
    return path


def infer_config(sd: Mapping[str, torch.Tensor], source: str = "<state dict>") -> NetConfig:
    """Network config from the shapes of an official-layout state dict (heads assume 64 per head)."""
    try:
        C = sd["backbone.patch_embed.proj.weight"].shape[0]
        depth = 1 + max(int(k.split(".")[2]) for k in sd if k.startswith("backbone.blocks."))
        hidden = sd["backbone.blocks.0.mlp.fc1.weight"].shape[0]
        gx = _grid(sd["backbone.pos_embed_x"].shape[1])
        gz = _grid(sd["backbone.pos_embed_z"].shape[1])
        gp = _grid(sd["backbone.pos_embed"].shape[1] - 1)
        head = sd["box_head.conv1_ctr.0.weight"].shape[0]
    except (KeyError, ValueError, IndexError) as e:
        raise CheckpointError(f"{source}: not an OSTrack/LoReTrack state dict (cannot read {e})") from None
    if None in (gx, gz, gp):
        raise CheckpointError(f"{source}: position tables are not square grids")
    return NetConfig(search_size=PATCH * gx, template_size=PATCH * gz, embed_dim=C, depth=depth,
                     num_heads=max(1, C // 64), mlp_ratio=hidden / C, head_channels=head, pretrain_img_size=PATCH * gp)


def build_net_from_checkpoint(checkpoint: Union[str, os.PathLike, Mapping[str, Any]], **overrides: Any) -> TrackerNet:
    """Build the network a checkpoint was saved from and load it (eval mode).

    ``overrides`` change config fields, e.g. ``search_size=256, template_size=128`` to run a 384
    checkpoint at 256 (position tables resized), or ``ce_loc=(3, 6, 9)`` to add candidate elimination.
    """
    source = os.fspath(checkpoint) if isinstance(checkpoint, (str, os.PathLike)) else "<state dict>"
    obj = read_checkpoint_file(source) if isinstance(checkpoint, (str, os.PathLike)) else checkpoint
    sd, kind, meta = extract_state_dict(obj, source)
    if kind == "mae":
        raise CheckpointError(f"{source}: MAE backbone weights hold no tracker; use build_net() + load_checkpoint()")
    cfg = NetConfig.from_dict(meta["config"]) if meta.get("config") else infer_config(sd, source)
    if overrides:
        if "search_size" in overrides and "template_size" not in overrides:
            overrides["template_size"] = default_template_size(overrides["search_size"])
        cfg = cfg.replace(**overrides)
    net = TrackerNet(cfg).eval()
    load_checkpoint(net, obj if not isinstance(checkpoint, (str, os.PathLike)) else {"net": sd, "epoch": meta.get("epoch")})
    net.source = source
    return net
