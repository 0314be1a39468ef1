"""The Displacement Generation Module (DGM) of FRL-DGT (paper sec. 3.1, eq. 1-4)."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mezoo.displacement.base import REFRESH_BATCHES, DisplacementProvider
from mezoo.displacement.warp import (
    luminance,
    normalization_loss,
    per_sample_normalize,
    reconstruction_loss,
    robust_loss,
    scale_grad,
    smoothness_loss,
)


#: The DGM pre-trained on synthetic clips that LOSO on the default ``synthetic`` dataset does not
#: use (``scripts/pretrain_dgm.py``): ``weights: synthetic``. Its architecture: ``width`` 8,
#: ``levels`` 3 (trained at ``scale`` 0.5).
#: the self-supervised losses a DGM fine-tunes its weights with (``finetune_loss``)
FINETUNE_LOSSES = ("robust", "l_dgm")

PRETRAINED = {"synthetic": Path(__file__).parent / "weights" / "dgm_synthetic.safetensors",
              "faces": Path(__file__).parent / "weights" / "dgm_faces.safetensors"}


def load_weights(dgm: nn.Module, weights: str | Path) -> str:
    """Load ``weights`` (a name in :data:`PRETRAINED` or a ``.safetensors`` path) into ``dgm``;
    returns a digest of the file's content.

    Raises:
        ConfigError: the file does not exist or its tensors do not fit this DGM's architecture.
    """
    from safetensors.torch import load

    from mezoo.errors import ConfigError

    path = PRETRAINED.get(str(weights), Path(str(weights)).expanduser())
    if not path.is_file():
        raise ConfigError(f"displacement.dgm.weights: {path} does not exist; give a .safetensors file saved from "
                          f"a DGM, one of {', '.join(PRETRAINED)}, or null to train from scratch")
    content = path.read_bytes()
    state = load(content)
    own = dgm.state_dict()
    wrong = [k for k in own if k not in state or state[k].shape != own[k].shape]
    if wrong or set(state) - set(own):
        raise ConfigError(f"displacement.dgm.weights: {path} does not fit this DGM (e.g. {(wrong or sorted(state))[0]}); "
                          f"its width and levels must match the ones it was saved with"
                          + (f" (the {weights} DGM: width 8, levels 3)" if str(weights) in PRETRAINED else "")
                          + ", or set displacement.dgm.weights=null to train from scratch")
    dgm.load_state_dict(state)
    return hashlib.sha256(content).hexdigest()[:16]


class _Block(nn.Sequential):
    """The DGM's basic block: convolution, batch normalisation, activation.

    In eval mode the batch normalisation (a fixed affine map per channel then) is folded into the
    convolution's weights and bias at each call: the same output to float precision without a
    pass over the feature maps (at batch 1 on 224 x 224 frames, 5 of the DGM's ~45 ms). Written
    out rather than with ``torch.nn.utils.fusion.fuse_conv_bn_weights``, which wraps the folded
    weights in new Parameters and so cuts the gradient of an eval-mode pass.
    """

    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__(
            nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(cout),
            nn.LeakyReLU(0.1, inplace=True),
        )

    def forward(self, x: Tensor) -> Tensor:
        conv, norm, act = self
        if self.training:
            return super().forward(x)
        scale = norm.weight * torch.rsqrt(norm.running_var + norm.eps)
        bias = norm.bias - norm.running_mean * scale
        out = F.conv2d(x, conv.weight * scale[:, None, None, None], bias, conv.stride, conv.padding)
        return F.leaky_relu(out, act.negative_slope, inplace=True)


class DGM(DisplacementProvider):
    """A convolutional encoder-decoder that generates the onset -> apex displacement.

    The encoder downsamples the luminance of onset and apex ``levels`` times (conv + BN +
    activation blocks, stride 2), the decoder upsamples back with skip connections. The output
    is ``alpha * tanh(.)`` in normalised image coordinates (``[-1, 1]`` spans the image, as in
    bilinear grid sampling; alpha = 0.2 as in the paper), returned in pixels by
    :meth:`displacement`. What the classifier sees (:meth:`forward`) is that displacement
    normalised per sample (:func:`~mezoo.displacement.warp.per_sample_normalize`).

    ``symmetric`` (default): the field is ``(g(onset, apex) - g(apex, onset)) / 2`` for the network
    ``g``, run once on both orderings stacked in one batch. Two identical frames then give exactly
    no motion and swapping the frames negates the field: without it, a network trained on pairs
    that all drift one way learns that drift as a constant bias (measured: 0.3-0.6 px on two
    identical real frames after 20 steps) and its reconstruction loss after 20 steps was higher
    (0.111 vs 0.107; 0.128 vs 0.104 at ``scale`` 0.5, ``width`` 8). It costs twice the network
    passes. ``symmetric=False`` is the paper's plain network.

    Batch normalisation: after training, :meth:`refresh_statistics` recomputes the running
    statistics as plain averages over batches of training pairs, under the final weights. With
    the usual momentum (0.1) they lag the weights that changed at every step, and in eval mode
    (which LOSO predicts in) the field was worse than in training: the reconstruction loss of the
    same pairs 1.23x the train-mode loss after 20 steps; 1.00x after the refresh.

    ``weights``: start from weights saved earlier (a ``.safetensors`` path, or ``"synthetic"``:
    the package's DGM pre-trained on synthetic clips, see :data:`PRETRAINED`); ``None`` trains
    from scratch, as the paper does. From weights there is no warm-up, and the DGM trains at
    ``finetune_lr`` instead of ``lr``; at ``finetune_lr`` 0 (the default) it does not train at all:
    it is a fixed provider (``trainable`` False), computed once per sample and cached like
    Farneback, its cache key covering the weights' content. Measured with ``mezoo motion-accuracy``
    on the synthetic clips: 30 steps of ``L_DGM`` at the paper's 0.002 took the pre-trained DGM's
    face EPE from 0.105 to 0.213 px, at 2e-4 to 0.116.

    ``finetune_loss``: the self-supervised loss of fine-tuning from weights: ``"robust"`` (default,
    :func:`~mezoo.displacement.warp.robust_loss`: census photometric term, edge-aware smoothness,
    validity; on real faces 30 steps at 2e-4 kept the ``faces`` DGM's face EPE at 0.157 -> 0.154
    px where ``L_DGM`` raised it to 0.172) or ``"l_dgm"`` (the paper's, for the ablation). From
    scratch the DGM trains with ``L_DGM``.

    ``scale`` < 1 runs the network on frames resized by that factor and upsamples its output
    (the displacement is in image-relative units, so it transfers); on a CPU, 0.5 makes it about
    four times cheaper. The losses are always computed at the input's resolution.

    Training (paper sec. 3.1, 3.3): ``L_DGM = 10 L_rec + 1 L_nm + 0.2 L_sm`` on the onset-apex
    pairs of each batch and, when ``self_supervised``, on random frame pairs drawn from the
    training subjects' sequences (``pairs_per_clip`` per clip, ``pair_batch_size`` a step;
    ``warmup_steps`` steps on them alone before the classifier trains). The classification gradient reaching the DGM is scaled
    by ``cls_grad_scale`` = 1e-6. Adam with ``lr`` = 0.002. ``self_supervised=False`` is
    ablation M3.

    Shape:
        - onset, apex: ``(B, C, H, W)`` in ``[0, 1]``, ``H`` and ``W`` divisible by ``2**levels``.
        - output: ``(B, 2, H, W)``.
    """

    trainable = True

    def __init__(self, width: int = 16, levels: int = 3, scale: float = 1.0, alpha: float = 0.2,
                 normalize: bool = True, self_supervised: bool = True, pairs_per_clip: int = 4,
                 pair_batch_size: int = 32, warmup_steps: int = 30, lambda_rec: float = 10.0,
                 lambda_nm: float = 1.0, lambda_sm: float = 0.2, lr: float = 0.002,
                 cls_grad_scale: float = 1e-6, symmetric: bool = True, weights: str | None = None,
                 finetune_lr: float = 0.0, finetune_loss: str = "robust"):
        super().__init__()
        if finetune_loss not in FINETUNE_LOSSES:
            from mezoo.errors import ConfigError

            raise ConfigError(f"displacement.dgm.finetune_loss is {finetune_loss!r}; it must be one of: "
                              f"{', '.join(FINETUNE_LOSSES)}")
        # from weights, the self-supervised loss: robust_loss, or the paper's L_DGM (ablation)
        self.finetune_loss = finetune_loss if weights else "l_dgm"
        self.symmetric = symmetric
        self.weights = weights
        self.scale = scale
        self.pair_batch_size = pair_batch_size
        self.alpha = alpha
        self.normalize = normalize
        self.self_supervised = self_supervised
        self.pairs_per_clip = pairs_per_clip if self_supervised else 0
        # from saved weights: no warm-up, and fine-tuned at finetune_lr (L_DGM at the paper's rate
        # undoes what the weights know) or, at 0, not trained: a fixed provider, computed once
        self.warmup_steps = warmup_steps if self_supervised and not weights else 0
        self.lambdas = (lambda_rec, lambda_nm, lambda_sm)
        self.lr = finetune_lr if weights else lr
        self.trainable = not (weights and finetune_lr == 0)
        self.cls_grad_scale = cls_grad_scale
        self.levels = levels
        chans = [width * 2**i for i in range(levels + 1)]
        self.stem = nn.Sequential(_Block(2, chans[0]), _Block(chans[0], chans[0]))
        self.down = nn.ModuleList(
            nn.Sequential(_Block(chans[i], chans[i + 1], stride=2), _Block(chans[i + 1], chans[i + 1]))
            for i in range(levels)
        )
        self.up = nn.ModuleList(
            nn.Sequential(_Block(chans[i + 1] + chans[i], chans[i]), _Block(chans[i], chans[i]))
            for i in reversed(range(levels))
        )
        self.head = nn.Conv2d(chans[0], 2, 3, padding=1)
        # Start from "no motion": training grows the displacement from zero.
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)
        # Channels-last convolutions: the same output, ~30% faster on CPU (oneDNN); measured
        # 64 -> 45 ms for one 224 x 224 pair on 2 cores. `.to(device)` keeps the layout.
        self.to(memory_format=torch.channels_last)
        if weights:
            self.cache_version = f"{self.cache_version}:{load_weights(self, weights)}"
            if not self.trainable:
                self.requires_grad_(False)
                self.eval()

    def train(self, mode: bool = True) -> DGM:
        """As :meth:`torch.nn.Module.train`, but a DGM that is not trained (saved weights with
        ``finetune_lr`` 0) stays in eval mode: its batch-norm statistics are the saved ones."""
        return super().train(mode and self.trainable)

    def check_size(self, size: int) -> None:
        scaled = math.floor(size * self.scale)
        if scaled % 2**self.levels:
            from mezoo.errors import ConfigError

            raise ConfigError(f"the DGM runs on frames of face.size {size} times displacement.dgm.scale {self.scale} = "
                              f"{scaled} px, which is not divisible by 2**levels = {2**self.levels} "
                              f"(displacement.dgm.levels); change face.size, scale or levels")

    def displacement(self, onset: Tensor, apex: Tensor, mask: Tensor | None = None) -> Tensor:
        """The generated displacement in pixels, before normalisation (what ``L_DGM`` sees); 0
        outside ``mask`` (``(B, 1, H, W)``, 1 = valid)."""
        h, w = onset.shape[-2:]
        first, second = luminance(onset), luminance(apex)
        if self.symmetric:  # both orderings in one batch: g(a, b) and g(b, a)
            first, second = torch.cat([first, second]), torch.cat([second, first])
        x = torch.cat([first, second], dim=1)
        if self.scale != 1.0:
            x = F.interpolate(x, scale_factor=self.scale, mode="bilinear", align_corners=False, antialias=True)
        sh, sw = x.shape[-2:]
        if sh % 2**self.levels or sw % 2**self.levels:
            raise ValueError(
                f"DGM input {sh}x{sw} (frames {h}x{w} times scale {self.scale}) is not divisible by "
                f"2**levels = {2**self.levels}; change displacement.dgm.levels or scale"
            )
        x = self.stem(x.contiguous(memory_format=torch.channels_last))
        skips = [x]
        for down in self.down:
            x = down(x)
            skips.append(x)
        skips.pop()
        for up in self.up:
            skip = skips.pop()
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = up(torch.cat([x, skip], dim=1))
        d = self.alpha * torch.tanh(self.head(x))  # normalised image coordinates
        if self.symmetric:
            forward, backward = d.chunk(2)
            d = (forward - backward) / 2
        if (sh, sw) != (h, w):
            d = F.interpolate(d, size=(h, w), mode="bilinear", align_corners=True)
        scale = torch.tensor([(w - 1) / 2, (h - 1) / 2], dtype=d.dtype, device=d.device)
        d = d * scale[None, :, None, None]
        return (d if mask is None else d * mask).contiguous()

    @torch.no_grad()
    def refresh_statistics(self, batches: Iterable[tuple[Tensor, Tensor, Tensor | None]]) -> None:
        """Recompute the batch-norm running statistics as plain averages over ``batches`` of
        ``(first, second, mask)`` frame pairs (floats in ``[0, 1]``), under the current weights;
        leaves the module in eval mode. Call it with training pairs after training. A DGM that is not
        trained (saved weights, ``finetune_lr`` 0) keeps its saved statistics."""
        if not self.trainable:
            self.eval()
            return
        norms = [m for m in self.modules() if isinstance(m, nn.BatchNorm2d)]
        momenta = [m.momentum for m in norms]
        for m in norms:
            m.reset_running_stats()
            m.momentum = None  # a cumulative average
        self.train()
        for first, second, mask in batches:
            self.displacement(first, second, mask)
        for m, momentum in zip(norms, momenta):
            m.momentum = momentum
        self.eval()

    def present(self, displacement: Tensor, mask: Tensor | None = None) -> Tensor:
        """What the classifier receives: the displacement normalised per sample over its valid
        pixels (or as is)."""
        return per_sample_normalize(displacement, mask) if self.normalize else displacement

    def forward(self, onset: Tensor, apex: Tensor, mask: Tensor | None = None) -> Tensor:
        return self.present(self.displacement(onset, apex, mask), mask)

    def dgm_loss(self, onset: Tensor, apex: Tensor, displacement: Tensor, mask: Tensor | None = None) -> Tensor:
        """``L_DGM`` (eq. 4) of a pixel displacement over the valid pixels; ``L_nm`` and ``L_sm``
        in normalised units."""
        h, w = onset.shape[-2:]
        scale = torch.tensor([(w - 1) / 2, (h - 1) / 2], dtype=displacement.dtype, device=displacement.device)
        unit = displacement / scale[None, :, None, None]
        rec, nm, sm = self.lambdas
        return (rec * reconstruction_loss(onset, apex, displacement, mask) + nm * normalization_loss(unit, mask)
                + sm * smoothness_loss(unit, mask))

    def self_loss(self, onset: Tensor, apex: Tensor, displacement: Tensor, mask: Tensor | None = None) -> Tensor:
        """The self-supervised loss this DGM trains with: ``L_DGM`` from scratch (the paper), and
        from weights the ``finetune_loss`` (default :func:`~mezoo.displacement.warp.robust_loss`)."""
        if self.finetune_loss == "robust":
            return robust_loss(onset, apex, displacement, mask)
        return self.dgm_loss(onset, apex, displacement, mask)

    def training_forward(self, onset: Tensor, apex: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
        d = self.displacement(onset, apex, mask)
        return self.present(scale_grad(d, self.cls_grad_scale), mask), self.self_loss(onset, apex, d, mask)

    def pair_loss(self, first: Tensor, second: Tensor, mask: Tensor | None = None) -> Tensor:
        return self.self_loss(first, second, self.displacement(first, second, mask), mask)


def fit_self_supervised(dgm: DGM, first: Tensor, second: Tensor, steps: int, batch_size: int = 16,
                        seed: int = 0, mask: Tensor | None = None) -> DGM:
    """Fit ``dgm`` with ``L_DGM`` alone on random batches of frame pairs, then refresh its batch-norm
    statistics on :data:`REFRESH_BATCHES` more (:meth:`DGM.refresh_statistics`; eval mode).

    Args:
        first, second: ``(P, C, H, W)`` uint8 frame pairs.
        mask: ``(P, 1, H, W)`` their validity masks (1 = valid), or ``None``.
    """
    if not dgm.trainable:  # saved weights, not to be trained (finetune_lr 0)
        return dgm.eval()
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(dgm.parameters(), lr=dgm.lr)
    dgm.train()
    for _ in range(steps):
        pick = torch.randint(len(first), (batch_size,), generator=generator, device=generator.device)
        loss = dgm.pair_loss(first[pick].float() / 255, second[pick].float() / 255,
                             None if mask is None else mask[pick].float())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    batches = []
    for _ in range(REFRESH_BATCHES):
        pick = torch.randint(len(first), (batch_size,), generator=generator, device=generator.device)
        batches.append((first[pick].float() / 255, second[pick].float() / 255,
                        None if mask is None else mask[pick].float()))
    dgm.refresh_statistics(batches)
    return dgm
