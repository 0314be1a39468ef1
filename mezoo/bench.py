"""Benchmark cases, shared by ``benchmarks/`` (pytest-benchmark) and ``mezoo bench``.

Each case builds its model and inputs once (``setup``) and returns the function to time: one
forward pass in inference mode, ending with a CUDA synchronisation on a GPU so the time covers
the kernels and not only their launch. Sizes are the paper's: C = 256, h = 8, 9 AU regions of
90 x 90 cut into 18 x 18 patches (N = 25), a 90 x 90 full face, 224 x 224 frames, M = 8 input
channels (RGB onset and apex plus a 2-channel displacement).

Variants: ``fp32``; ``bf16`` (``torch.autocast``, CUDA only: on CPUs without bf16 units it is
slower); ``compile`` (``torch.compile``, CUDA only: inductor on CPU needs a C++ tool chain and
minutes of compilation, more than a benchmark run should take).
"""

from __future__ import annotations

import contextlib
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

VARIANTS = ("fp32", "bf16", "compile")

#: The default fusion head options (mezoo/defaults.yaml, the paper's sizes).
FUSION_OPTIONS = dict(embed_dim=256, num_heads=8, patch_size=18, local_depth=1, global_depth=1, face_depth=1,
                      mlp_ratio=4.0, dropout=0.1)


@dataclass(frozen=True)
class Case:
    """One benchmark: ``group`` collects the cases compared with each other (Fu-B vs Fu-A)."""

    name: str
    group: str
    setup: Callable[[torch.device, str], Callable[[], Any]]
    batch: int = 1
    cuda_only: bool = False


def supports(device: torch.device, variant: str) -> bool:
    """Whether ``variant`` is run on ``device`` (see the module docstring)."""
    return variant == "fp32" or device.type == "cuda"


def _timed(module: torch.nn.Module, args: tuple, device: torch.device, variant: str) -> Callable[[], Any]:
    module = module.to(device).eval()
    if variant == "compile":
        module = torch.compile(module)
    args = tuple(a.to(device) if isinstance(a, torch.Tensor) else a for a in args)

    def run() -> Any:
        with torch.inference_mode(), _autocast(device, variant):
            out = module(*args)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return out

    return run


def _autocast(device: torch.device, variant: str) -> contextlib.AbstractContextManager:
    if variant == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def fusion_head(name: str, in_channels: int = 8, num_classes: int = 3) -> torch.nn.Module:
    from mezoo import plugins

    return plugins.make("fusion", name, in_channels=in_channels, num_classes=num_classes, num_regions=9,
                        region_size=90, face_size=90, **FUSION_OPTIONS)


def _fusion(name: str, batch: int) -> Callable[[torch.device, str], Callable[[], Any]]:
    def setup(device: torch.device, variant: str) -> Callable[[], Any]:
        torch.manual_seed(0)
        regions = torch.rand(batch, 9, 8, 90, 90)
        face = torch.rand(batch, 8, 90, 90)
        return _timed(fusion_head(name), (regions, face), device, variant)

    return setup


def _fusion_layer(kind: str, batch: int) -> Callable[[torch.device, str], Callable[[], Any]]:
    def setup(device: torch.device, variant: str) -> Callable[[], Any]:
        from mezoo.fusion.grouped import GROUPED_FUSION_LAYERS

        torch.manual_seed(0)
        # the local fusion layers of all 9 regions, grouped as the head runs them: 9 x B token sets
        # of N = 25 tokens of C = 256
        layer = GROUPED_FUSION_LAYERS[kind](9, 256, 25, 8)
        tokens = torch.randn(9, batch * 25, 256)
        return _timed(layer, (tokens, batch), device, variant)

    return setup


def dgm(**options: Any) -> torch.nn.Module:
    from mezoo import plugins
    from mezoo.config import defaults

    return plugins.make("displacement", "dgm", **{**defaults()["displacement"]["dgm"], **options})


def _dgm(batch: int) -> Callable[[torch.device, str], Callable[[], Any]]:
    def setup(device: torch.device, variant: str) -> Callable[[], Any]:
        torch.manual_seed(0)
        return _timed(dgm(), (torch.rand(batch, 3, 224, 224), torch.rand(batch, 3, 224, 224)), device, variant)

    return setup


def full_model(head: str = "fu_b_attn") -> torch.nn.Module:
    from mezoo.model import FRLDGT

    provider = dgm()
    return FRLDGT(provider, fusion_head(head, in_channels=6 + provider.out_channels(3)), "au9", 90, 90)


def _model(batch: int) -> Callable[[torch.device, str], Callable[[], Any]]:
    def setup(device: torch.device, variant: str) -> Callable[[], Any]:
        from mezoo.face import canonical_landmarks

        torch.manual_seed(0)
        landmarks = torch.as_tensor(canonical_landmarks(224), dtype=torch.float32).expand(batch, 68, 2).clone()
        return _timed(full_model(), (torch.rand(batch, 3, 224, 224), torch.rand(batch, 3, 224, 224), landmarks),
                      device, variant)

    return setup


def _train_step(displacement: str, batch: int) -> Callable[[torch.device, str], Callable[[], Any]]:
    """One training step as the LOSO trainer takes it: forward, cross-entropy (plus the DGM's own
    ``L_DGM`` on the batch and on a batch of self-supervision pairs), backward, Adam.

    ``displacement``: ``"dgm"``, the default model (defaults.yaml: a DGM trained with the head, as on
    a real dataset); ``"fixed"``, a provider computed once and cached (Farneback, the pre-trained
    DGM of the synthetic set) with augmentation on: the step cuts the regions and the face from
    the frames and the precomputed displacement; ``"head"``, the same without augmentation (the
    default): the runner stores the crops once and a step is the fusion head alone."""

    def setup(device: torch.device, variant: str) -> Callable[[], Any]:
        from mezoo.face import canonical_landmarks

        torch.manual_seed(0)
        model = full_model().to(device).train()
        onset, apex = torch.rand(batch, 3, 224, 224, device=device), torch.rand(batch, 3, 224, 224, device=device)
        landmarks = torch.as_tensor(canonical_landmarks(224), dtype=torch.float32).expand(batch, 68, 2).to(device)
        labels = torch.arange(batch, device=device) % 3
        fixed = torch.randn(batch, 2, 224, 224, device=device)
        if displacement == "head":  # the runner's stored crops
            with torch.no_grad():
                stored = model.regions_and_face(onset, apex, landmarks, fixed)
        trained = model.parameters() if displacement == "dgm" else model.fusion.parameters()
        optimizer = torch.optim.Adam(trained, lr=1e-4)
        loss_fn = torch.nn.CrossEntropyLoss()

        def step_loss() -> torch.Tensor:
            with _autocast(device, variant):
                if displacement == "dgm":
                    logits, own = model.training_step(onset, apex, landmarks)
                    return loss_fn(logits, labels) + own + model.displacement.pair_loss(apex, onset)
                if displacement == "head":
                    return loss_fn(model.fusion(*stored), labels)
                return loss_fn(model.fusion(*model.regions_and_face(onset, apex, landmarks, fixed)), labels)

        forward = torch.compile(step_loss) if variant == "compile" else step_loss

        def run() -> float:
            loss = forward()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            return float(loss.item())  # .item() waits for the device

        return run

    return setup


def _end_to_end(device: torch.device, variant: str) -> Callable[[], Any]:
    """From two image files on disk to a class: read, detect, landmarks, calibrate, crop,
    displacement (DGM), classify (Fu-B-Attn), the face pipeline without its cache.

    The frames are framed like CASME II's: 640 x 480 JPEGs with the face about a quarter of the
    width (~155 px), cut from the astronaut photo scikit-image ships and scaled up; the apex is the
    onset shifted by a pixel."""
    import cv2
    from skimage import data

    from mezoo.data.sample import Sample
    from mezoo.face.landmarks import LandmarkDetector
    from mezoo.data.faces import FaceReader

    folder = Path(tempfile.mkdtemp(prefix="mezoo-bench-"))
    photo = cv2.resize(cv2.cvtColor(data.astronaut()[0:270, 42:402], cv2.COLOR_RGB2BGR), (640, 480),
                       interpolation=cv2.INTER_CUBIC)
    cv2.imwrite(str(folder / "img1.jpg"), photo)
    cv2.imwrite(str(folder / "img2.jpg"), cv2.warpAffine(photo, np.float32([[1, 0, 1], [0, 1, 0]]), (640, 480)))
    sample = Sample("bench", "s1", "e1", 0, 1, 1, "", "", (folder / "img1.jpg", folder / "img2.jpg"))
    detector = LandmarkDetector()
    detector.load()  # the model file is read once per process, not per picture
    model = full_model().to(device).eval()
    if variant == "compile":
        model = torch.compile(model)

    def run() -> int:
        reader = FaceReader(size=224, cache=False, detector=detector)
        onset, landmarks = reader.read(sample, 0)
        apex, _ = reader.read(sample, 1)
        frames = [torch.from_numpy(f).permute(2, 0, 1)[None].to(device).float().div_(255) for f in (onset, apex)]
        lm = torch.as_tensor(landmarks, dtype=torch.float32, device=device)[None]
        with torch.inference_mode(), _autocast(device, variant):
            label = int(model(*frames, lm).argmax(1).item())  # .item() waits for the device
        return label

    return run


CASES: tuple[Case, ...] = (
    *(Case(f"fusion-{head}-b{b}", f"fusion b{b}", _fusion(head, b), b) for b in (1, 32) for head in ("fu_b_attn", "fu_a_attn")),
    *(Case(f"fusion-layer-{kind}-b{b}", f"fusion layer b{b}", _fusion_layer(kind, b), b)
      for b in (1, 32) for kind in ("before", "after")),
    *(Case(f"dgm-b{b}", f"dgm b{b}", _dgm(b), b) for b in (1, 32)),
    Case("model-b32", "model b32", _model(32), 32),
    Case("train-head-b32", "train b32", _train_step("head", 32), 32),
    Case("train-fixed-b32", "train b32", _train_step("fixed", 32), 32),
    Case("train-dgm-b32", "train b32", _train_step("dgm", 32), 32),
    Case("end-to-end", "end to end", _end_to_end, 1),
)


def devices() -> list[torch.device]:
    return [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])


@dataclass
class Timing:
    case: str
    group: str
    device: str
    variant: str
    median_ms: float
    iqr_ms: float
    rounds: int


def measure(fn: Callable[[], Any], min_time: float = 1.0, warmup: int = 3, max_rounds: int = 200) -> list[float]:
    """Seconds per call: ``warmup`` untimed calls, then calls until ``min_time`` has passed (at
    least 5, at most ``max_rounds``)."""
    return measure_together([fn], min_time, warmup, max_rounds)[0]


def measure_together(fns: list[Callable[[], Any]], min_time: float = 1.0, warmup: int = 3,
                     max_rounds: int = 200) -> list[list[float]]:
    """Seconds per call of each of ``fns``, timed in turn (a, b, a, b, ...) so that a drift in the
    machine's speed (other load, clock changes) hits all of them alike: what the Fu-B / Fu-A
    ratio needs. Each gets ``warmup`` untimed calls, then rounds until ``min_time`` per function
    has passed (at least 5 rounds, at most ``max_rounds``)."""
    for fn in fns:
        for _ in range(warmup):
            fn()
    times: list[list[float]] = [[] for _ in fns]
    start = time.perf_counter()
    while len(times[0]) < max_rounds and (len(times[0]) < 5 or time.perf_counter() - start < min_time * len(fns)):
        for fn, out in zip(fns, times):
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
    return times


def run(cases: tuple[Case, ...] = CASES, device_list: list[torch.device] | None = None,
        variants: tuple[str, ...] = ("fp32",), min_time: float = 1.0) -> Iterator[Timing]:
    """Time every case on every device and supported variant; the cases of a group (Fu-B and
    Fu-A at one batch size) are timed in turn with :func:`measure_together`."""
    groups: dict[str, list[Case]] = {}
    for case in cases:
        groups.setdefault(case.group, []).append(case)
    for device in device_list or devices():
        for variant in variants:
            if not supports(device, variant):
                continue
            for members in groups.values():
                all_times = measure_together([c.setup(device, variant) for c in members], min_time)
                for case, times in zip(members, all_times):
                    q = statistics.quantiles(times, n=4) if len(times) > 1 else [times[0]] * 3
                    yield Timing(case.name, case.group, str(device), variant, 1e3 * statistics.median(times),
                                 1e3 * (q[2] - q[0]), len(times))


def ratios(timings: list[Timing]) -> list[tuple[str, str, str, float]]:
    """Fu-B / Fu-A whole-fusion latency ratio per (batch, device, variant)."""
    by = {(t.case, t.device, t.variant): t.median_ms for t in timings}
    out = []
    for (case, device, variant), fu_b in by.items():
        if case.startswith("fusion-fu_b_attn-"):
            fu_a = by.get((case.replace("fu_b_attn", "fu_a_attn"), device, variant))
            if fu_a:
                out.append((case.rsplit("-", 1)[1], device, variant, fu_b / fu_a))
    return out
