"""UF1 / UAR / accuracy on pooled predictions, against values worked out by hand."""

import pytest

from mezoo.loso.metrics import scores
from mezoo.loso.report import build_report, markdown


def test_uf1_uar_by_hand():
    # class 0: 4 samples, 3 right; class 1: 3 samples, 2 right; class 2: 2 samples, 1 right.
    y_true = [0, 0, 0, 0, 1, 1, 1, 2, 2]
    y_pred = [0, 0, 0, 1, 1, 1, 2, 2, 0]
    # F1_0 = 2*3/(2*3+1+1) = 0.75; F1_1 = 2*2/(4+1+1) = 2/3; F1_2 = 2*1/(2+1+1) = 0.5
    # recalls: 3/4, 2/3, 1/2
    s = scores(y_true, y_pred, 3)
    assert s["uf1"] == pytest.approx((0.75 + 2 / 3 + 0.5) / 3)
    assert s["uar"] == pytest.approx((0.75 + 2 / 3 + 0.5) / 3)
    assert s["accuracy"] == pytest.approx(6 / 9)
    assert s["confusion"] == [[3, 1, 0], [0, 2, 1], [1, 0, 1]]


def test_pooled_not_averaged_over_folds_with_a_missing_class():
    # Fold A has no class-2 sample; fold B no class-1 sample. Pooled, every class is present.
    fold_a = ([0, 0, 1, 1], [0, 1, 1, 1])
    fold_b = ([0, 2, 2], [0, 2, 0])
    y_true = fold_a[0] + fold_b[0]
    y_pred = fold_a[1] + fold_b[1]
    s = scores(y_true, y_pred, 3)
    # class 0: TP 2 (of 3), FP 1, FN 1 -> F1 = 4/6; class 1: TP 2, FP 1, FN 0 -> 4/5; class 2: TP 1, FN 1 -> 2/3
    assert s["uf1"] == pytest.approx((4 / 6 + 4 / 5 + 2 / 3) / 3)
    assert s["uar"] == pytest.approx((2 / 3 + 1 + 1 / 2) / 3)
    per_fold_mean = (scores(*fold_a, 3)["uf1"] + scores(*fold_b, 3)["uf1"]) / 2
    assert s["uf1"] != pytest.approx(per_fold_mean)


def test_class_absent_from_the_evaluated_set_is_left_out():
    # No class-2 sample at all, but one wrong class-2 prediction: it costs class 0 its recall.
    s = scores([0, 0, 1, 1], [0, 2, 1, 1], 3)
    assert s["uar"] == pytest.approx((0.5 + 1.0) / 2)
    assert s["uf1"] == pytest.approx((2 / 3 + 1.0) / 2)
    assert s["confusion"][0] == [1, 0, 1]


def test_report_per_part_in_table_1_order():
    classes = ("negative", "positive", "surprise")
    parts = ["casme2", "casme2", "smic", "smic", "samm", "samm"]
    subjects = ["casme2/a", "casme2/b", "smic/c", "smic/d", "samm/e", "samm/f"]
    report = build_report(classes, parts, [0, 1, 0, 2, 1, 1], [0, 1, 0, 0, 1, 1], subjects)
    assert list(report["parts"]) == ["smic", "samm", "casme2"]
    assert report["parts"]["casme2"]["uf1"] == 1.0
    assert report["parts"]["smic"]["uar"] == pytest.approx(0.5)
    text = markdown(report, "test")
    assert text.splitlines()[0] == (
        "| Method | Full UF1 | Full UAR | SMIC UF1 | SMIC UAR | SAMM UF1 | SAMM UAR | CASME II UF1 | CASME II UAR |"
    )
    # every block has its interval over its own subjects; a part that is always right cannot vary
    assert report["full"]["interval"]["subjects"] == 6 and report["parts"]["casme2"]["interval"]["subjects"] == 2
    assert report["parts"]["casme2"]["interval"]["uf1"] == [1.0, 1.0]
    low, high = report["full"]["interval"]["uf1"]
    assert low < report["full"]["uf1"] < high
    assert "95% intervals (bootstrap over subjects, 1000 resamples, seed 0): Full UF1" in text
