"""Training one fold and predicting: steps, class weights, non-finite guards (called by keyword)."""

import numpy as np
import pytest
import torch
from torch import nn

from mezoo.errors import TrainingError
from mezoo.engine.loop import check_trained, class_weights, predict, train_epochs
from mezoo.settings import load_settings


class _Provider(nn.Module):
    """A displacement provider with nothing to train (what the trainer asks of one)."""

    trainable, lr, warmup_steps = False, None, 0


class _Model(nn.Module):
    """A linear classifier over fixed features, shaped like FRLDGT for the trainer (fusion + displacement)."""

    def __init__(self, features: int = 4, classes: int = 3):
        super().__init__()
        self.fusion = nn.Linear(features, classes)
        self.displacement = _Provider()


def _task(n: int = 30, seed: int = 0):
    """Three separable classes: class k has feature k high."""
    generator = torch.Generator().manual_seed(seed)
    labels = np.arange(n) % 3
    x = torch.randn(n, 4, generator=generator) * 0.1
    x[torch.arange(n), torch.as_tensor(labels)] += 2.0
    return x, labels


def _train(model, x, labels, steps_taken=None, **train):
    settings = load_settings(overrides={"train": {"epochs": 20, "batch_size": 8, "lr": 0.05, **train}})

    def forward(rows):
        if steps_taken is not None:
            steps_taken.append(len(rows))
        return model.fusion(x[rows]), None

    rows = np.arange(len(labels))
    history = train_epochs(model, forward, train_idx=rows, train_labels=labels, num_classes=3, train=settings.train,
                         device=torch.device("cpu"), seed=0, fold_name="s01", progress=False)
    return history, forward


def test_training_lowers_the_loss_and_fits_a_separable_task():
    torch.manual_seed(0)
    x, labels = _task()
    model = _Model()
    history, forward = _train(model, x, labels)
    assert len(history) == 20 and history[-1] < history[0] / 3
    probs = predict(model, forward, np.arange(30), batch_size=7)
    assert probs.shape == (30, 3) and np.allclose(probs.sum(1), 1, atol=1e-5)
    assert (probs.argmax(1) == labels).mean() == 1.0


def test_steps_cover_every_sample_and_skip_only_a_lone_remainder():
    x, labels = _task(17)
    seen = []
    _train(_Model(), x, labels, seen, epochs=1, batch_size=8)
    assert seen == [8, 8]  # 17 = 8 + 8 + 1: the lone last sample is skipped (batch statistics of one)
    seen.clear()
    _train(_Model(), x, labels, seen, epochs=1, batch_size=1)
    assert seen == [1] * 17  # batch size 1 trains every sample


def test_a_non_finite_loss_names_the_fold_epoch_and_step():
    x, labels = _task()
    x[5] = float("nan")
    with pytest.raises(TrainingError, match=r"fold s01: loss is nan at epoch 1, step \d+; lower train.lr"):
        _train(_Model(), x, labels)


def test_check_trained_stops_non_finite_weights_and_probabilities():
    model = _Model()
    check_trained(model, np.full((2, 3), 1 / 3), "s01")
    with pytest.raises(TrainingError, match=r"fold s01: the predicted probabilities are not finite"):
        check_trained(model, np.array([[np.nan, 0.5, 0.5]]), "s01")
    with torch.no_grad():
        model.fusion.weight[0, 0] = float("inf")
    with pytest.raises(TrainingError, match=r"fold s01: fusion.weight is not finite after training"):
        check_trained(model, np.full((2, 3), 1 / 3), "s01")


def test_class_weights_come_from_the_training_labels():
    weights = class_weights(np.array([0, 0, 0, 1]), num_classes=3, mode="balanced")
    assert weights.tolist() == pytest.approx([4 / 6, 2.0, 0.0])  # an absent class weighs nothing
    assert class_weights(np.array([0, 1]), num_classes=3, mode="none") is None


def test_training_is_reproducible_from_its_seed():
    x, labels = _task()
    runs = []
    for _ in range(2):
        torch.manual_seed(1)
        model = _Model()
        _train(model, x, labels, epochs=3)
        runs.append(model.fusion.weight.detach().clone())
    assert torch.equal(runs[0], runs[1])
