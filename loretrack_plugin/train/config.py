"""Training configuration: one nested dict, YAML on disk, every size derived from it.

A config file is merged onto :data:`DEFAULTS` (unknown keys are an error naming the key). Extras:

* ``base: other.yaml`` or a list of files (relative to this one) are loaded first, in order, and this
  file's keys override them;
* string values may use ``${VAR}`` / ``${VAR:-default}`` (environment variables, e.g. data roots);
* ``overrides`` (command line ``--set a.b=value``) are applied last; values are parsed as YAML.

Defaults are the published OSTrack/LoReTrack recipe (docs/method.md §4–5). ``data.template``/``data.search``
``size: null`` means "the size of the network that consumes the crops": the trained network for
``train``, the teacher for ``distill`` (its input is down-sampled for the student).
"""
from __future__ import annotations

import copy
import os
import re
from typing import Any, Dict, Iterable, Mapping, Optional, Union

import yaml

from ..config import ARCH_FIELDS, NET_FIELDS, ConfigError, NetConfig, default_template_size
from ..data.augment import Augment


def _net_section(fields, **values) -> Dict[str, Any]:
    """``{field: NetConfig's default}`` for ``fields`` (lists for tuples), updated with ``values``."""
    defaults = NetConfig().to_dict()
    return {k: values.get(k, defaults[k]) for k in fields}


DEFAULTS: Dict[str, Any] = {
    "name": "run",
    "model": {
        # every NetConfig field; template_size None = half the search size (default_template_size)
        **_net_section(NET_FIELDS, template_size=None, drop_path_rate=0.1),
        "init": None,            # MAE weights ({'model': ...}) or a tracker checkpoint; None = random init
        "freeze_bn": False,      # keep the head's BatchNorm in eval mode (running statistics)
        "freeze_backbone": False,  # train the box head only: backbone parameters get no gradient and
                                   # are left out of the optimiser (a head fine-tune of a trained tracker)
        "stem_init": "pretrained",  # a convolutional stem (model.patch_embed) starts from its shipped trained
                                    # weights (models/pretrained), or from a file given here; null = random
        "freeze_stem": True,     # the stem keeps its trained weights and BatchNorm statistics (no gradient)
        "score_prior": None,     # initial score-map probability (CenterNet bias init, helps from-scratch runs);
                                 # None = the official init, sigmoid(0) = 0.5
    },
    "teacher": {
        "checkpoint": None,      # --teacher overrides it
        **_net_section(ARCH_FIELDS, search_size=384, template_size=192),  # checked against the checkpoint
        "forward": "inference",  # inference (torch.inference_mode) | no_grad | autograd (frozen params)
    },
    "data": {
        "train": {"datasets": [], "samples_per_epoch": 60000},
        "val": {"datasets": [], "samples_per_epoch": 10000, "every": 20},
        "template": {"size": None, "factor": 2.0, "center_jitter": 0.0, "scale_jitter": 0.0},
        "search": {"size": None, "factor": 5.0, "center_jitter": 4.5, "scale_jitter": 0.5},
        "max_gap": 200, "min_sequence_length": 20, "min_visible": 4,
        "grayscale_prob": 0.05, "flip_prob": 0.5, "crop_flip_prob": 0.5, "brightness_jitter": 0.2,
        # optional augmentations against over-fitting small data (data/augment.py); all off = official
        "augment": {"distractor_prob": 0.0, "occlusion_prob": 0.0, "occlusion": 0.4, "blur_prob": 0.0, "color": 0.0},
        "student_antialias": False,  # official: bilinear down-sample without antialiasing (docs/method.md, pitfall P7)
        "num_workers": 4,
    },
    "loss": {
        "giou": 2.0, "l1": 5.0, "focal": 1.0,
        "qkv": {"weight": 0.01, "blocks": [-1], "tensors": ["q", "k", "v"], "temperature": 4.0},
        "disc": {"weight": 0.01, "threshold": 0.2, "inside": 0.6, "outside": 0.4, "temperature": 4.0},
    },
    "optim": {
        "batch_size": 32,        # per process: the global batch is batch_size x processes (lr is not scaled)
        "reference_batch": 128,  # global batch the lrs are set for (published: 4 GPUs x 32); warns when it
                                 # differs; null = no warning
        "epochs": 300, "lr": 4e-4, "backbone_lr_mult": 0.1, "weight_decay": 1e-4,
        "lr_drop_epoch": 240, "lr_gamma": 0.1, "grad_clip": 0.1,
        "amp": True,             # true/auto: CUDA autocast, bf16 on compute capability >= 8.0, else fp16 +
                                 # GradScaler; off on CPU. Or bf16 | fp16 | fp32 (false); see trainer.amp_dtype
        "ce_start_epoch": 20, "ce_warm_epochs": 80,
    },
    "mae": {                     # `loretrack pretrain`: masked-autoencoder pre-training (train/mae.py)
        "img_size": 224, "mask_ratio": 0.75, "decoder_dim": 128, "decoder_depth": 2, "decoder_heads": 4,
        "norm_pix": True, "batch_size": 64, "steps": 2000, "lr": 1.0e-3, "warmup_steps": 100,
        "weight_decay": 0.05, "save_every_steps": 100, "stride": 1,
    },
    "run": {
        "output_dir": None,      # default runs/<name>
        "seed": 42,              # + rank for the per-process RNG (drop path)
        "save_every": 40, "save_epochs": [], "save_last": 10, "save_every_steps": 0,
        "log_every": 50, "tensorboard": True, "progress": True, "device": "auto", "threads": None,
        "ddp_find_unused_parameters": False, "sync_bn": False,
        "cudnn_benchmark": True,  # cuDNN autotuning on GPU (the input sizes never change)
    },
}

TEACHER_FORWARD = ("inference", "no_grad", "autograd")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def expand_vars(value: Any) -> Any:
    """``${VAR}`` / ``${VAR:-default}`` in strings, recursively through dicts and lists."""
    if isinstance(value, str):
        def sub(m):
            v = os.environ.get(m.group(1))
            if v is None:
                if m.group(2) is None:
                    raise ConfigError(f"environment variable {m.group(1)} is not set (used in {value!r})")
                return m.group(2)
            return v
        return _VAR.sub(sub, value)
    if isinstance(value, dict):
        return {k: expand_vars(v) for k, v in value.items()}
    if isinstance(value, list):
        return [expand_vars(v) for v in value]
    return value


def _merge(base: dict, new: Mapping, schema: Optional[Mapping], where: str) -> dict:
    out = copy.deepcopy(base)
    for k, v in new.items():
        key = f"{where}.{k}" if where else str(k)
        if schema is not None and k not in schema:
            raise ConfigError(f"unknown config key {key!r}")
        sub_schema = schema.get(k) if schema is not None else None
        if isinstance(sub_schema, dict) and sub_schema and isinstance(v, Mapping):
            out[k] = _merge(out.get(k) or {}, v, sub_schema, key)
        elif isinstance(sub_schema, dict) and sub_schema and v is not None:
            raise ConfigError(f"config key {key!r} must be a mapping, got {type(v).__name__}")
        else:
            out[k] = _coerce(v, sub_schema, key) if schema is not None else copy.deepcopy(v)
    return out


def _coerce(v: Any, default: Any, key: str) -> Any:
    """Numbers written as strings (YAML reads ``1e-3`` as a string) become the default's type."""
    if isinstance(default, bool) or default is None or v is None:
        return copy.deepcopy(v)
    if isinstance(default, (int, float)):
        if isinstance(v, bool):
            raise ConfigError(f"config key {key!r} must be a number, got {v!r}")
        try:
            num = float(v)
        except (TypeError, ValueError):
            raise ConfigError(f"config key {key!r} must be a number, got {v!r}") from None
        if isinstance(default, int) and not isinstance(default, bool):
            if num != int(num):
                raise ConfigError(f"config key {key!r} must be an integer, got {v!r}")
            return int(num)
        return num
    return copy.deepcopy(v)


def _read_yaml(path: str, seen=()) -> dict:
    path = os.path.abspath(path)
    if path in seen:
        raise ConfigError(f"{path}: 'base' chain loops")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"config file not found: {path}")
    with open(path) as f:
        try:
            d = yaml.safe_load(f) or {}
        except yaml.YAMLError as e:
            raise ConfigError(f"{path}: not valid YAML ({str(e).splitlines()[0]})") from None
    if not isinstance(d, dict):
        raise ConfigError(f"{path}: a config must be a mapping")
    bases = d.pop("base", None) or []
    parent: dict = {}
    for base in [bases] if isinstance(bases, str) else bases:
        parent = _merge_raw(parent, _read_yaml(os.path.join(os.path.dirname(path), base), seen + (path,)))
    return _merge_raw(parent, d)


class Append(list):
    """An override value that extends the list it lands on instead of replacing it (``--real-data``)."""


def _merge_raw(a: dict, b: Mapping) -> dict:
    out = copy.deepcopy(a)
    for k, v in b.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), dict):
            out[k] = _merge_raw(out[k], v)
        elif isinstance(v, Append):
            out[k] = list(out.get(k) or []) + copy.deepcopy(list(v))
        else:
            out[k] = copy.deepcopy(v)
    return out


def parse_override(item: str) -> dict:
    """``a.b.c=value`` -> {'a': {'b': {'c': yaml(value)}}}."""
    if "=" not in item:
        raise ConfigError(f"--set {item!r}: expected KEY=VALUE (e.g. optim.epochs=10)")
    key, value = item.split("=", 1)
    try:
        v = yaml.safe_load(value) if value.strip() else None
    except yaml.YAMLError:
        v = value
    d: Any = v
    for part in reversed(key.strip().split(".")):
        d = {part: d}
    return d


def load_config(config: Union[str, os.PathLike, Mapping, None] = None, overrides: Iterable[Union[str, Mapping]] = ()
                ) -> dict:
    """Full config dict from a YAML path or a dict (plus overrides), validated against DEFAULTS."""
    if config is None:
        raw, source = {}, "<defaults>"
    elif isinstance(config, Mapping):
        raw, source = copy.deepcopy(dict(config)), "<dict>"
        raw.pop("base", None)
        raw.pop("_source", None)  # a config this function returned before
    else:
        source = os.fspath(config)
        raw = _read_yaml(source)
    for o in overrides:
        raw = _merge_raw(raw, parse_override(o) if isinstance(o, str) else o)
    try:
        cfg = _merge(DEFAULTS, expand_vars(raw), DEFAULTS, "")
    except ConfigError as e:
        raise ConfigError(f"{source}: {e}") from None
    cfg["_source"] = source
    validate(cfg)
    return cfg


def validate(cfg: dict) -> None:
    m, o, d = cfg["model"], cfg["optim"], cfg["data"]
    for net in (m, cfg["teacher"]):
        if net["template_size"] is None:
            net["template_size"] = default_template_size(net["search_size"])
    if cfg["teacher"]["forward"] not in TEACHER_FORWARD:
        raise ConfigError(f"teacher.forward={cfg['teacher']['forward']!r}: expected one of {TEACHER_FORWARD}")
    for key in ("batch_size", "epochs"):
        if not isinstance(o[key], int) or o[key] < 1:
            raise ConfigError(f"optim.{key}={o[key]!r} must be a positive integer")
    for key in ("train", "val"):
        for i, ds in enumerate(d[key]["datasets"] or []):
            if not isinstance(ds, Mapping) or "type" not in ds or "root" not in ds:
                raise ConfigError(f"data.{key}.datasets[{i}] must be a mapping with 'type' and 'root'")
    try:
        Augment.from_config(d.get("augment"))
    except ValueError as e:
        raise ConfigError(str(e)) from None
    for name in ("tensors",):
        bad = [t for t in cfg["loss"]["qkv"][name] if t not in ("q", "k", "v")]
        if bad:
            raise ConfigError(f"loss.qkv.tensors: {bad} (allowed: q, k, v)")
    if cfg["run"]["output_dir"] is None:
        cfg["run"]["output_dir"] = os.path.join("runs", str(cfg["name"]))


def net_kwargs(section: Mapping) -> dict:
    """NetConfig keyword arguments from a ``model:`` or ``teacher:`` section (the NetConfig fields it gives)."""
    out = {k: section[k] for k in NET_FIELDS if k in section}
    if "ce_loc" in out:
        out["ce_loc"] = tuple(out["ce_loc"] or ())
    return out


def dump_config(cfg: Mapping) -> str:
    return yaml.safe_dump({k: v for k, v in cfg.items() if not k.startswith("_")}, sort_keys=False)
