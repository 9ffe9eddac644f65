"""Hand-computed cases for the got10k-master and pytracking formulas (tolerance 1e-9).

Boxes are x, y, w, h. got10k IoU carries +eps in the union, so a perfect box has IoU just below 1
(not above t = 1.0, above t = 0.95); pytracking's inclusive-pixel IoU of identical boxes is exactly 1.
"""
import math

import numpy as np
import pytest
import torch

from loretrack_plugin.evaluation import metrics as M

TOL = 1e-9
G = [10.0, 10.0, 20.0, 20.0]


def test_thresholds_match_the_toolkits():
    assert len(M.IOU_THRESHOLDS) == 21 and M.IOU_THRESHOLDS[10] == 0.5
    assert list(M.CE_THRESHOLDS) == list(range(51))
    assert len(M.NCE_THRESHOLDS) == 51 and M.NCE_THRESHOLDS[-1] == 0.5
    pyt = torch.arange(0.0, 1.0 + 0.05, 0.05, dtype=torch.float64).numpy()
    assert len(pyt) == len(M.PYT_OVERLAP_THRESHOLDS) == 21
    np.testing.assert_allclose(M.PYT_OVERLAP_THRESHOLDS, pyt, rtol=0, atol=1e-15)
    assert M.PYT_OVERLAP_THRESHOLDS[M.PYT_OP50] == 0.5 and M.PYT_OVERLAP_THRESHOLDS[M.PYT_OP75] == 0.75
    np.testing.assert_array_equal(M.PYT_NORM_THRESHOLDS, (torch.arange(0, 51, dtype=torch.float64) / 100).numpy())


def test_got10k_sequence_hand_case():
    # frame 0 replaced by GT; IoUs [1, 1, 1/3, 1/2]; centre errors [0, 0, 5, 5]; normalised [0, 0, .5, .5]
    anno = np.array([[0, 0, 10, 10]] * 4, float)
    boxes = np.array([[99, 99, 1, 1], [0, 0, 10, 10], [5, 0, 10, 10], [0, 0, 10, 20]], float)
    s = M.got10k_sequence(boxes, anno)
    k = np.arange(21)
    expected_succ = (2 * (k < 20) + (k < 7) + (k < 10)) / 4
    np.testing.assert_allclose(s.success_curve, expected_succ, atol=TOL)
    assert abs(s.success_score - 57 / 84) < TOL
    assert abs(s.success_rate - 0.5) < TOL
    t = np.arange(51)
    np.testing.assert_allclose(s.precision_curve, (2 + 2 * (t >= 5)) / 4, atol=TOL)
    assert s.precision_score == 1.0
    np.testing.assert_allclose(s.normalized_precision_curve, [0.5] * 50 + [1.0], atol=TOL)
    assert abs(s.normalized_precision_score - 26 / 51) < TOL


def test_got10k_absent_and_nan_ground_truth():
    # LaSOT absence (0,0,0,0) is kept and fails; a NaN row is dropped (master) or fails (OTB)
    anno = np.array([G, [0, 0, 0, 0], [np.nan] * 4, G])
    boxes = np.array([G, G, G, G])
    s = M.got10k_sequence(boxes, anno, drop_nan_gt=True)
    assert abs(s.success_score - (20 * 2 / 3) / 21) < TOL
    # the absent frame's centre error is to (-0.5, -0.5): 20*sqrt(2) = 28.28 px
    assert abs(s.precision_curve[28] - 2 / 3) < TOL and abs(s.precision_curve[29] - 1.0) < TOL
    assert abs(s.precision_score - 2 / 3) < TOL
    assert abs(s.normalized_precision_score - 2 / 3) < TOL
    kept = M.got10k_sequence(boxes, anno, drop_nan_gt=False)
    assert abs(kept.success_score - (20 * 2 / 4) / 21) < TOL
    assert abs(kept.precision_score - 2 / 4) < TOL
    _, ce, nce = M.got10k_errors(boxes, anno)
    assert abs(ce[1] - 20 * math.sqrt(2)) < TOL and abs(nce[1] - 20 * math.sqrt(2)) < TOL


def test_normalized_center_error_definition():
    pred = np.array([[15.0, 10.0, 20.0, 20.0], [10.0, 16.0, 4.0, 4.0]])
    gt = np.array([[10.0, 10.0, 20.0, 20.0], [10.0, 10.0, 0.5, 3.0]])
    # (5/20, 0) -> 0.25 ; centres (11.5, 17.5) vs (9.75, 11) over max(1, (0.5, 3)) = (1, 3) -> (1.75, 6.5/3)
    np.testing.assert_allclose(M.normalized_center_error(pred, gt), [0.25, math.hypot(1.75, 6.5 / 3)], atol=TOL)


def test_got10k_overall_averages_sequences_and_speed():
    a = M.got10k_sequence(np.array([G, G]), np.array([G, G]))                     # perfect
    b = M.got10k_sequence(np.array([G, [100, 100, 5, 5]]), np.array([G, G]))      # half
    o = M.got10k_overall([a, b])
    assert abs(o.success_score - (20 / 21 + 10 / 21) / 2) < TOL
    assert abs(o.precision_score - 0.75) < TOL
    assert M.got10k_speed(np.array([0.5, 0.25, 0.0])) == pytest.approx(3.0)   # mean(2, 4); t=0 ignored
    assert M.got10k_overall_speed([3.0, 0.0, 5.0]) == 4.0
    assert M.got10k_overall_speed([0.0]) == -1.0


def test_got10k_ao_sr_pooled():
    ao, sr, curve = M.got10k_ao_sr(np.array([1.0, 0.5, 0.25, 0.0]))
    assert ao == pytest.approx(0.4375) and sr == pytest.approx(0.25)
    assert len(curve) == 101 and curve[0] == pytest.approx(0.75)


# -------------------------------------------------------------------- pytracking

LASOT_ANNO = np.array([G, [0, 0, 0, 0], G, G])
LASOT_PRED = np.array([G, G, G, [15.0, 10.0, 20.0, 20.0]])
LASOT_VISIBLE = np.array([1, 0, 1, 1], bool)


def test_pytracking_lasot_hand_case():
    # valid [T, F, T, T]; IoU [1, -1, 1, 300/500]; centre [0, inf, 0, 5]; normalised [0, inf, 0, .25]
    ov, ce, nce, valid = M.pytracking_errors(LASOT_PRED, LASOT_ANNO, "lasot", LASOT_VISIBLE)
    np.testing.assert_array_equal(valid, [True, False, True, True])
    np.testing.assert_allclose(ov, [1.0, -1.0, 1.0, 0.6], atol=TOL)
    assert ce[1] == np.inf and nce[1] == np.inf and abs(ce[3] - 5) < TOL and abs(nce[3] - 0.25) < TOL
    s = M.pytracking_sequence(LASOT_PRED, LASOT_ANNO, "lasot", LASOT_VISIBLE).scores()
    assert abs(s["auc"] - 52 / 84) < TOL
    assert abs(s["op50"] - 0.75) < TOL and abs(s["op75"] - 0.5) < TOL
    assert abs(s["precision"] - 0.75) < TOL
    assert abs(s["norm_precision"] - 0.5) < TOL
    ex = M.pytracking_sequence(LASOT_PRED, LASOT_ANNO, "lasot", LASOT_VISIBLE, exclude_invalid_frames=True).scores()
    assert abs(ex["auc"] - 52 / 63) < TOL and abs(ex["precision"] - 1.0) < TOL
    assert abs(ex["norm_precision"] - 2 / 3) < TOL


def test_pytracking_generic_dataset_counts_invalid_frame_as_normalised_hit():
    # outside LaSOT, an invalid frame has normalised error -1: a hit at every threshold
    s = M.pytracking_sequence(LASOT_PRED, LASOT_ANNO, "otb").scores()
    assert abs(s["auc"] - 52 / 84) < TOL and abs(s["precision"] - 0.75) < TOL
    assert abs(s["norm_precision"] - 0.75) < TOL


def test_got10k_master_on_the_same_lasot_case():
    # same raw results under got10k: AUC equal, normalised precision is the mean of the curve
    g = M.got10k_sequence(LASOT_PRED, LASOT_ANNO)
    assert abs(g.success_score - 52 / 84) < TOL
    assert abs(g.precision_score - 0.75) < TOL
    assert abs(g.normalized_precision_score - 32 / 51) < TOL


def test_pytracking_zero_size_prediction_takes_previous_box():
    anno = np.array([G, G, G])
    pred = np.array([G, G, [0.0, 0.0, 0.0, 7.0]])
    s = M.pytracking_sequence(pred, anno).scores()
    assert abs(s["auc"] - 20 / 21) < TOL and s["precision"] == 1.0


def test_pytracking_lengths_and_invalid_input():
    anno = np.array([G, G, G, G])
    short = np.array([G, G])
    s = M.pytracking_sequence(short, anno, "otb").scores()   # zero-padded rows fail
    assert abs(s["auc"] - (2 * 20 / 4) / 21) < TOL
    long = np.array([G] * 6)
    assert abs(M.pytracking_sequence(long, anno, "otb").scores()["auc"] - 20 / 21) < TOL
    with pytest.raises(M.ProtocolError):
        M.pytracking_sequence(short, anno, "lasot", np.ones(4, bool))
    with pytest.raises(M.ProtocolError):
        M.pytracking_sequence(np.array([G, [np.nan] * 4, G, G]), anno)
    with pytest.raises(M.ProtocolError):
        M.pytracking_sequence(np.array([G, [1, 1, -2, 3], G, G]), anno)
    nan_gt = np.array([G, [np.nan] * 4, G, G])
    with pytest.raises(M.ProtocolError):
        M.pytracking_sequence(anno, nan_gt, "otb")
    # UAV: NaN ground truth is an invalid frame with centre error -1 (a precision hit), IoU -1
    s = M.pytracking_sequence(anno, nan_gt, "uav").scores()
    assert abs(s["auc"] - (3 * 20 / 4) / 21) < TOL and s["precision"] == 1.0 and s["norm_precision"] == 1.0


def test_pytracking_overall_is_mean_of_sequence_curves():
    a = M.pytracking_sequence(np.array([G, G]), np.array([G, G]))
    b = M.pytracking_sequence(LASOT_PRED, LASOT_ANNO, "lasot", LASOT_VISIBLE)
    o = M.pytracking_overall([a, b]).scores()
    assert abs(o["auc"] - (20 / 21 + 52 / 84) / 2) < TOL
    assert abs(o["precision"] - (1 + 0.75) / 2) < TOL
    assert abs(o["norm_precision"] - (1 + 0.5) / 2) < TOL
    assert abs(o["op75"] - (1 + 0.5) / 2) < TOL


def test_got10k_formulas_have_one_home_and_keep_their_public_path():
    """The got10k formulas live in loretrack_plugin.got10k_metrics (the evaluation and the bench's
    agreement check both score with them); loretrack_plugin.evaluation.metrics hands the same objects on."""
    from loretrack_plugin import got10k_metrics as G10
    for name in ("IOU_THRESHOLDS", "CE_THRESHOLDS", "NCE_THRESHOLDS", "GOT10K_IOU_THRESHOLDS", "SequenceScores",
                 "normalized_center_error", "got10k_errors", "got10k_sequence", "got10k_overall", "got10k_speed",
                 "got10k_overall_speed", "got10k_ao_sr"):
        assert getattr(M, name) is getattr(G10, name), name
        assert name in M.__all__
