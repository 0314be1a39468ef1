"""The training loop: a model trained on some rows for a number of epochs, and its predictions.

It knows no evaluation protocol: LOSO (:mod:`mezoo.loso.job`) trains one model per fold with it,
``mezoo train`` (:mod:`mezoo.inference.train`) one on every subject.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from mezoo.errors import TrainingError
from mezoo.model import FRLDGT

if TYPE_CHECKING:
    from mezoo.settings import TrainSettings

#: rows -> (logits, the displacement provider's own loss or None); the input path decides how
Forward = Callable[[Tensor], tuple[Tensor, Tensor | None]]
#: a random generator -> a self-supervised loss on a batch of training pairs
PairLoss = Callable[[torch.Generator], Tensor]


def class_weights(labels: np.ndarray, num_classes: int, mode: str,
                  device: torch.device | str = "cpu") -> Tensor | None:
    """Inverse-frequency weights from the training labels (``balanced``) on ``device``, or ``None``.

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
    return torch.tensor(weights, dtype=torch.float32, device=device)


def train_epochs(model: FRLDGT, forward: Forward, *, train_idx: np.ndarray, train_labels: np.ndarray,
                 num_classes: int, train: TrainSettings, device: torch.device, seed: int,
                 fold_name: str, progress: bool = True, pair_loss: PairLoss | None = None) -> list[float]:
    """Train ``model`` on the rows ``train_idx`` (labelled ``train_labels``) for ``train.epochs`` epochs.

    ``fold_name`` names the model in bars and messages (a fold's subject, or ``all subjects``).
    Only the training labels are passed in, so the test subject's labels cannot leak into
    training.

    The fusion head: Adam with cosine annealing over all steps (paper sec. 3.3). A trainable
    displacement provider: its own Adam at its ``lr``; with ``pair_loss`` it first trains alone
    for its ``warmup_steps`` on self-supervised pairs, then every step adds a pair batch's loss.
    Nothing here sees the test subject: no validation on it, no epoch chosen by it.

    Returns:
        The mean training loss of each epoch.

    Raises:
        TrainingError: the loss became NaN or infinite (named by fold, epoch and step).
    """
    epochs, batch_size = train.epochs, train.batch_size
    generator = torch.Generator().manual_seed(seed)
    steps = epochs * math.ceil(len(train_idx) / batch_size)
    fusion_opt = torch.optim.Adam(model.fusion.parameters(), lr=train.lr,
                                  weight_decay=train.weight_decay)
    optimizers = [fusion_opt]
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(fusion_opt, T_max=max(steps, 1))
    provider = model.displacement
    provider_params = [p for p in provider.parameters() if p.requires_grad]
    if provider_params:
        provider_opt = torch.optim.Adam(provider_params, lr=float(provider.lr or train.lr))
        optimizers.append(provider_opt)
        if pair_loss is not None and provider.warmup_steps:
            model.train()
            warm = tqdm(range(provider.warmup_steps), desc=f"fold {fold_name} self-supervised warm-up",
                        unit="step", disable=not progress, leave=False)
            for step in warm:
                loss = pair_loss(generator)
                _check_finite(loss, fold_name, f"self-supervised warm-up step {step + 1}")
                provider_opt.zero_grad(set_to_none=True)
                loss.backward()
                provider_opt.step()
    weights = class_weights(train_labels, num_classes, train.class_weight, device)
    loss_fn = nn.CrossEntropyLoss(weight=weights)
    # host-side indices and labels (the rows index the frames in memory), moved per batch
    targets = torch.as_tensor(np.asarray(train_labels), dtype=torch.long, device="cpu")
    rows = torch.as_tensor(train_idx, dtype=torch.long, device="cpu")
    positions = torch.arange(len(rows), device="cpu")
    history = []
    model.train()
    bar = tqdm(range(epochs), desc=f"fold {fold_name}", unit="epoch", disable=not progress, leave=False)
    for epoch in bar:
        order = positions[torch.randperm(len(rows), generator=generator, device="cpu")]
        total, count = 0.0, 0
        for step, start in enumerate(range(0, len(order), batch_size)):
            batch = order[start:start + batch_size]
            if len(batch) < 2 < batch_size:
                continue  # a lone remainder sample: batch statistics of one are noise (batch_size 1 trains)
            logits, provider_loss = forward(rows[batch])
            loss = loss_fn(logits, targets[batch].to(device))
            if provider_loss is not None:
                loss = loss + provider_loss
            if pair_loss is not None:
                loss = loss + pair_loss(generator)
            _check_finite(loss, fold_name, f"epoch {epoch + 1}, step {step + 1}")
            for opt in optimizers:
                opt.zero_grad(set_to_none=True)
            loss.backward()
            for opt in optimizers:
                opt.step()
            scheduler.step()
            total += loss.item() * len(batch)
            count += len(batch)
        history.append(total / max(count, 1))
        bar.set_postfix(loss=f"{history[-1]:.3f}")
    return history


def check_trained(model: nn.Module, probs: np.ndarray, fold_name: str) -> None:
    """Stop a fold whose model diverged on its last step (the loss before it was finite, the
    weights after it are not) or predicts non-finite probabilities, before anything is reported.

    Raises:
        TrainingError: naming the fold and the first non-finite parameter or buffer.
    """
    for name, value in (*model.named_parameters(), *model.named_buffers()):
        if value.is_floating_point() and not torch.isfinite(value).all():
            raise TrainingError(f"fold {fold_name}: {name} is not finite after training (the last step diverged); "
                                f"lower train.lr (or displacement.<name>.lr) and run again")
    if not np.isfinite(probs).all():
        raise TrainingError(f"fold {fold_name}: the predicted probabilities are not finite; lower train.lr or "
                            f"check the inputs of this fold for NaN")


def _check_finite(loss: Tensor, fold_name: str, where: str) -> None:
    if not torch.isfinite(loss):
        raise TrainingError(
            f"fold {fold_name}: loss is {loss.item()} at {where}; "
            f"lower train.lr or check the inputs of this fold for NaN"
        )


@torch.no_grad()
def predict(model: nn.Module, forward: Forward, idx: Sequence[int], batch_size: int) -> np.ndarray:
    """Class probabilities ``(len(idx), num_classes)`` for the rows ``idx``, in eval mode."""
    model.eval()
    rows = torch.as_tensor(np.asarray(idx), dtype=torch.long, device="cpu")
    out = [forward(rows[i:i + batch_size])[0].softmax(-1).cpu() for i in range(0, len(rows), batch_size)]
    return torch.cat(out).numpy()
