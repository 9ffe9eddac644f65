"""A deliberately plain re-derivation of the official forward from docs/method.md §1, used as the oracle.

Functional torch on a state dict: explicit softmax attention, exact GELU, LayerNorm eps 1e-6, eval-mode
BatchNorm, clamped sigmoids, arg-max decode; CE as docs/method.md §1.5 describes it. Nothing here imports the
project's model code.
"""
import math

import torch
import torch.nn.functional as F


def _ln(x, sd, p):
    return F.layer_norm(x, (x.shape[-1],), sd[p + ".weight"], sd[p + ".bias"], eps=1e-6)


def _block_attn(x, sd, p, heads):
    B, N, C = x.shape
    h = _ln(x, sd, p + ".norm1")
    qkv = h @ sd[p + ".attn.qkv.weight"].T + sd[p + ".attn.qkv.bias"]
    qkv = qkv.reshape(B, N, 3, heads, C // heads).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]
    attn = (q @ k.transpose(-2, -1)) * (C // heads) ** -0.5
    attn = attn.softmax(-1)
    o = (attn @ v).transpose(1, 2).reshape(B, N, C)
    o = o @ sd[p + ".attn.proj.weight"].T + sd[p + ".attn.proj.bias"]
    return x + o, attn, (q, k, v)


def _block_mlp(x, sd, p):
    h = _ln(x, sd, p + ".norm2")
    h = F.gelu(h @ sd[p + ".mlp.fc1.weight"].T + sd[p + ".mlp.fc1.bias"])
    return x + h @ sd[p + ".mlp.fc2.weight"].T + sd[p + ".mlp.fc2.bias"]


def _branch(x, sd, name):
    for j in range(1, 5):
        p = f"box_head.conv{j}_{name}"
        x = F.conv2d(x, sd[p + ".0.weight"], sd[p + ".0.bias"], padding=1)
        x = F.batch_norm(x, sd[p + ".1.running_mean"], sd[p + ".1.running_var"], sd[p + ".1.weight"],
                         sd[p + ".1.bias"], training=False, eps=1e-5)
        x = F.relu(x)
    return F.conv2d(x, sd[f"box_head.conv5_{name}.weight"], sd[f"box_head.conv5_{name}.bias"])


def reference_forward(sd, z, x, heads, ce_loc=(), keep=0.7):
    """Returns (score, size, offset, boxes (B,4)), and the per-block q/k/v list."""
    w, b = sd["backbone.patch_embed.proj.weight"], sd["backbone.patch_embed.proj.bias"]
    ez = F.conv2d(z, w, b, stride=16).flatten(2).transpose(1, 2) + sd["backbone.pos_embed_z"]
    ex = F.conv2d(x, w, b, stride=16).flatten(2).transpose(1, 2) + sd["backbone.pos_embed_x"]
    nz, nx = ez.shape[1], ex.shape[1]
    t = torch.cat([ez, ex], 1)
    depth = 1 + max(int(k.split(".")[2]) for k in sd if k.startswith("backbone.blocks."))
    B, C = t.shape[0], t.shape[2]
    index = [list(range(nx)) for _ in range(B)]  # global raster index of each surviving search token
    gz = int(math.isqrt(nz))
    ctr = ((gz - 1) // 2) * gz + (gz - 1) // 2
    qkvs = []
    for i in range(depth):
        t, attn, qkv = _block_attn(t, sd, f"backbone.blocks.{i}", heads)
        qkvs.append(qkv)
        if i in ce_loc:
            ns = t.shape[1] - nz
            n_keep = math.ceil(keep * ns)
            if n_keep < ns:
                rows = []
                new_index = []
                for bi in range(B):
                    s = attn[bi, :, ctr, nz:].mean(0)  # CTR_POINT row, mean over heads
                    order = torch.sort(s, descending=True).indices[:n_keep]
                    rows.append(torch.cat([t[bi, :nz], t[bi, nz:][order]], 0))
                    new_index.append([index[bi][j] for j in order.tolist()])
                t = torch.stack(rows)
                index = new_index
        t = _block_mlp(t, sd, f"backbone.blocks.{i}")
    t = _ln(t, sd, "backbone.norm")
    s = torch.zeros(B, nx, C, dtype=t.dtype)
    for bi in range(B):
        s[bi, index[bi]] = t[bi, nz:]
    Fs = int(math.isqrt(nx))
    feat = s.transpose(1, 2).reshape(B, C, Fs, Fs)
    score = torch.sigmoid(_branch(feat, sd, "ctr")).clamp(1e-4, 1 - 1e-4)
    size = torch.sigmoid(_branch(feat, sd, "size")).clamp(1e-4, 1 - 1e-4)
    off = _branch(feat, sd, "offset")
    boxes = []
    for bi in range(B):
        idx = int(score[bi].flatten().argmax())
        iy, ix = idx // Fs, idx % Fs
        boxes.append(torch.stack([(ix + off[bi, 0, iy, ix]) / Fs, (iy + off[bi, 1, iy, ix]) / Fs,
                                  size[bi, 0, iy, ix], size[bi, 1, iy, ix]]))
    return (score, size, off, torch.stack(boxes)), qkvs, feat


def randomize(net, seed=0):
    """Give every parameter and BN statistic non-trivial values (biases and BN stats included)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in net.state_dict().items():
            if t.dtype == torch.int64:
                continue
            if "running_var" in name:
                t.copy_(torch.rand(t.shape, generator=g) + 0.5)
            elif name.endswith(".weight") and t.dim() == 1:
                t.copy_(1 + 0.1 * torch.randn(t.shape, generator=g))
            else:
                t.copy_(0.02 * torch.randn(t.shape, generator=g) * (5 if "pos_embed" in name else 1))
    return net
