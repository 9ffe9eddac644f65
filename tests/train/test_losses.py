"""Each loss term against values computed by hand on small tensors."""
import math

import pytest
import torch
import torch.nn.functional as F

from loretrack_plugin.train.losses import (BoxL1Loss, ChannelKL, DiscDistillLoss, FocalLoss, GIoULoss, QKVDistillLoss,
                                           box_iou_giou, resolve_blocks, to_teacher_grid)


def test_focal_loss_hand_computed():
    p = torch.tensor([[[[0.9, 0.2], [0.1, 0.3]]]])
    y = torch.tensor([[[1.0, 0.5], [0.0, 0.25]]])
    pos = math.log(0.9) * 0.1 ** 2
    neg = (0.2 ** 2 * math.log(0.8) * 0.5 ** 4 + 0.1 ** 2 * math.log(0.9) * 1.0
           + 0.3 ** 2 * math.log(0.7) * 0.75 ** 4)
    assert FocalLoss()(p, y).item() == pytest.approx(-(pos + neg), rel=1e-6)
    assert -(pos + neg) == pytest.approx(0.0128220, abs=1e-6)
    # two samples: the positives of the whole batch normalise the sum
    p2, y2 = torch.cat([p, p]), torch.cat([y, y])
    assert FocalLoss()(p2, y2).item() == pytest.approx(-(pos + neg), rel=1e-6)
    # no positive: only the (negated) negative sum
    y0 = torch.tensor([[[0.0, 0.5], [0.0, 0.25]]])
    neg0 = (0.9 ** 2 * math.log(0.1) + 0.2 ** 2 * math.log(0.8) * 0.5 ** 4 + 0.1 ** 2 * math.log(0.9)
            + 0.3 ** 2 * math.log(0.7) * 0.75 ** 4)
    assert FocalLoss()(p, y0).item() == pytest.approx(-neg0, rel=1e-6)


def test_giou_and_l1_hand_computed():
    pred = torch.tensor([[0.0, 0.0, 2.0, 2.0], [0.0, 0.0, 1.0, 1.0]])
    gt = torch.tensor([[1.0, 1.0, 3.0, 3.0], [2.0, 0.0, 3.0, 1.0]])
    iou, giou = box_iou_giou(pred, gt)
    # overlap 1, union 7, hull 3x3 = 9 ; disjoint: union 2, hull 3x1 = 3
    assert iou.tolist() == pytest.approx([1 / 7, 0.0])
    assert giou.tolist() == pytest.approx([1 / 7 - 2 / 9, 0 - 1 / 3])
    loss, miou = GIoULoss()(pred, gt)
    assert loss.item() == pytest.approx(((1 - (1 / 7 - 2 / 9)) + (1 + 1 / 3)) / 2)
    assert miou.item() == pytest.approx(1 / 14)
    assert BoxL1Loss()(pred, gt).item() == pytest.approx((1 + 1 + 1 + 1 + 2 + 0 + 2 + 0) / 8)


def test_channel_kl_hand_computed():
    # teacher distribution (0.75, 0.25), student uniform, at T = 1
    t = torch.tensor([math.log(3.0), 0.0]).reshape(1, 2, 1, 1)
    s = torch.zeros(1, 2, 1, 1)
    kl = 0.75 * math.log(0.75 / 0.5) + 0.25 * math.log(0.25 / 0.5)
    assert ChannelKL(1.0)(s, t).item() == pytest.approx(kl, rel=1e-6)
    # T = 4 on logits x4: same distributions, times T^2 = 16
    assert ChannelKL(4.0)(4 * s, 4 * t).item() == pytest.approx(16 * kl, rel=1e-5)
    # summed over positions, divided by the batch only
    s2, t2 = s.expand(3, 2, 2, 5).clone(), t.expand(3, 2, 2, 5).clone()
    assert ChannelKL(1.0)(s2, t2).item() == pytest.approx(10 * kl, rel=1e-5)
    w = torch.zeros(3, 1, 2, 5)
    w[:, :, 0, 0] = 0.5
    assert ChannelKL(1.0)(s2, t2, weight=w).item() == pytest.approx(0.5 * kl, rel=1e-5)


def test_channel_kl_matches_official_reduction():
    torch.manual_seed(0)
    s, t = torch.randn(2, 12, 3, 3), torch.randn(2, 12, 3, 3)
    T = 4.0
    ref = F.kl_div(F.log_softmax(s / T, 1), F.softmax(t / T, 1), reduction="sum") * T * T / 2
    assert ChannelKL(T)(s, t).item() == pytest.approx(ref.item(), rel=1e-5)


def test_student_map_is_upsampled_bilinearly_to_the_teacher_grid():
    s = torch.tensor([[0.0, 1.0], [2.0, 3.0]]).reshape(1, 1, 2, 2)
    up = to_teacher_grid(s, torch.zeros(1, 1, 4, 4))
    # align_corners=False: output x = 0.25, 0.75, 1.25, 1.75 in input-pixel units (clamped at the ends)
    assert up[0, 0, 0].tolist() == pytest.approx([0.0, 0.25, 0.75, 1.0])
    assert up[0, 0, :, 0].tolist() == pytest.approx([0.0, 0.5, 1.5, 2.0])
    assert to_teacher_grid(s, s) is s


def test_qkv_loss_sums_the_terms_and_is_zero_for_equal_maps():
    torch.manual_seed(1)
    t = {(0, "q"): torch.randn(2, 8, 4, 4), (0, "k"): torch.randn(2, 8, 4, 4), (0, "v"): torch.randn(2, 8, 4, 4)}
    s = {k: torch.randn(2, 8, 2, 2) for k in t}
    kl = ChannelKL(4.0)
    want = sum(kl(to_teacher_grid(s[k], t[k]), t[k]) for k in t)
    assert QKVDistillLoss(4.0)(s, t).item() == pytest.approx(want.item(), rel=1e-6)
    assert QKVDistillLoss(4.0)(t, t).item() == pytest.approx(0.0, abs=1e-5)
    with pytest.raises(ValueError, match="same non-empty keys"):
        QKVDistillLoss()({(0, "q"): t[(0, "q")]}, t)


def test_disc_loss_equals_the_official_masked_form():
    torch.manual_seed(2)
    t = torch.randn(2, 16, 4, 4) * 0.6
    s = torch.randn(2, 16, 2, 2)
    loss = DiscDistillLoss(threshold=0.2, inside=0.6, outside=0.4, temperature=4.0)
    m = (t.pow(2).mean(1, keepdim=True) >= 0.2).float()
    assert 0 < m.mean() < 1  # both regions present
    up = F.interpolate(s, size=(4, 4), mode="bilinear", align_corners=False)
    kl = ChannelKL(4.0)
    official = 0.6 * kl(up * m, t * m) + 0.4 * kl(up * (1 - m), t * (1 - m))
    assert loss(s, t).item() == pytest.approx(official.item(), rel=1e-5)
    assert loss(t, t).item() == pytest.approx(0.0, abs=1e-5)


def test_disc_mask_hand_computed():
    t = torch.zeros(1, 2, 1, 2)
    t[0, :, 0, 0] = torch.tensor([0.5, 0.5])   # energy 0.25 >= 0.2 -> inside
    t[0, :, 0, 1] = torch.tensor([0.3, 0.4])   # energy 0.125 -> outside
    assert DiscDistillLoss().mask(t).flatten().tolist() == [1.0, 0.0]


def test_resolve_blocks():
    assert resolve_blocks([-1], 12) == (11,)
    assert resolve_blocks([6, -2, 10], 12) == (6, 10)
    with pytest.raises(ValueError, match="block 12"):
        resolve_blocks([12], 12)
