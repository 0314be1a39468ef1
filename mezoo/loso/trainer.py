"""Training one fold and predicting its held-out subject."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from mezoo.errors import TrainingError

#: rows -> logits; the runner decides how (precomputed inputs or the whole model)
Forward = Callable[[Tensor], Tensor]


def class_weights(labels: np.ndarray, num_classes: int, mode: str) -> Tensor | None:
    """Inverse-frequency weights from the training labels (``balanced``) or ``None``.

    A class absent from the training subjects gets weight 0: it contributes no loss anyway.
    """
    if mode == "none":
        return None
    if mode != "balanced":
        from mezoo.errors import ConfigError

        raise ConfigError(f"train.class_weight must be 'balanced' or 'none', not {mode!r}")
    counts = np.bincount(labels, minlength=num_classes).astype(np.float64)
    present = counts > 0
    weights = np.zeros(num_classes)
    weights[present] = len(labels) / (present.sum() * counts[present])
    return torch.tensor(weights, dtype=torch.float32)


def train_fold(model: nn.Module, forward: Forward, train_idx: np.ndarray, labels: np.ndarray,
               num_classes: int, train: dict[str, Any], device: torch.device, seed: int,
               fold_name: str, progress: bool = True) -> list[float]:
    """Train ``model`` on the rows ``train_idx`` for ``train['epochs']`` epochs.

    Adam with cosine annealing of the learning rate over all steps (paper sec. 3.3). Nothing
    here sees the test subject: there is no validation on it and no epoch is chosen by it.

    Returns:
        The mean training loss of each epoch.

    Raises:
        TrainingError: the loss became NaN or infinite (named by fold, epoch and step).
    """
    epochs, batch_size = int(train["epochs"]), int(train["batch_size"])
    generator = torch.Generator().manual_seed(seed)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=float(train["lr"]), weight_decay=float(train["weight_decay"]))
    steps = epochs * math.ceil(len(train_idx) / batch_size)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(steps, 1))
    weights = class_weights(labels[train_idx], num_classes, str(train["class_weight"]))
    loss_fn = nn.CrossEntropyLoss(weight=None if weights is None else weights.to(device))
    targets = torch.as_tensor(labels, dtype=torch.long)
    rows = torch.as_tensor(train_idx, dtype=torch.long)
    history = []
    model.train()
    bar = tqdm(range(epochs), desc=f"fold {fold_name}", unit="epoch", disable=not progress, leave=False)
    for epoch in bar:
        order = rows[torch.randperm(len(rows), generator=generator)]
        total, count = 0.0, 0
        for step, start in enumerate(range(0, len(order), batch_size)):
            batch = order[start:start + batch_size]
            if len(batch) < 2 and len(order) > 1:
                continue  # a lone sample makes batch statistics meaningless
            loss = loss_fn(forward(batch), targets[batch].to(device))
            if not torch.isfinite(loss):
                raise TrainingError(
                    f"fold {fold_name}: loss is {loss.item()} at epoch {epoch + 1}, step {step + 1}; "
                    f"lower train.lr or check the inputs of this fold for NaN"
                )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            total += loss.item() * len(batch)
            count += len(batch)
        history.append(total / max(count, 1))
        bar.set_postfix(loss=f"{history[-1]:.3f}")
    return history


@torch.no_grad()
def predict(model: nn.Module, forward: Forward, idx: Sequence[int], batch_size: int) -> np.ndarray:
    """Class probabilities ``(len(idx), num_classes)`` for the rows ``idx``, in eval mode."""
    model.eval()
    rows = torch.as_tensor(np.asarray(idx), dtype=torch.long)
    out = [forward(rows[i:i + batch_size]).softmax(-1).cpu() for i in range(0, len(rows), batch_size)]
    return torch.cat(out).numpy()
