"""Tensors made on the right device, without a GPU: the model, every registered provider and fusion
head, the trainer, augmentation and the DGM's training run with torch's default device pointed at
``meta`` while their inputs live on the CPU. Any tensor that code creates without naming its device
then lands on ``meta`` and the run fails (``Cannot copy out of meta tensor``, a device mismatch), as
it would put a tensor on the CPU while the model runs on a GPU."""

from __future__ import annotations

import contextlib

import pytest
import torch

from mezoo import plugins
from mezoo.face import canonical_landmarks
from mezoo.model import build_model
from tests.conftest import tiny_settings


@contextlib.contextmanager
def default_device_elsewhere():
    """torch's default device is ``meta`` inside (tensors made without a device go there)."""
    torch.set_default_device("meta")
    try:
        yield
    finally:
        torch.set_default_device("cpu")


def small(name: str) -> dict:
    """A provider's options for a fast test."""
    return {"dgm": {"warmup_steps": 3, "pair_batch_size": 4, "width": 4}} if name == "dgm" else {}


def test_the_check_catches_a_tensor_made_without_its_device():
    x = torch.zeros(2)
    with default_device_elsewhere(), pytest.raises((NotImplementedError, RuntimeError)):
        x + torch.tensor([1.0, 2.0]).to(x.device)  # made on the default device, then copied: no data
    with default_device_elsewhere():
        assert (x + torch.tensor([1.0, 2.0], device=x.device)).device.type == "cpu"


@pytest.mark.parametrize("displacement", sorted(plugins.names("displacement")))
@pytest.mark.parametrize("fusion", ["fu_b_attn", "fu_a_attn", "vit_grid", "ststnet", "off_apexnet"])
def test_model_forward_and_training_step_keep_to_the_inputs_device(displacement, fusion):
    settings = tiny_settings().changed({"displacement": {"name": displacement, **small(displacement)},
                                        "fusion": {"name": fusion}})
    model = build_model(settings, 3)
    onset, apex = torch.rand(2, 3, 112, 112), torch.rand(2, 3, 112, 112)
    landmarks = torch.as_tensor(canonical_landmarks(112), dtype=torch.float32).expand(2, 68, 2).clone()
    mask = torch.ones(2, 1, 112, 112)
    mask[..., :, :10] = 0
    with default_device_elsewhere():
        out = model(onset, apex, landmarks, mask=mask)
        logits, provider_loss = model.training_step(onset, apex, landmarks, mask)
        (logits.sum() + (0 if provider_loss is None else provider_loss)).backward()
    assert out.device.type == "cpu" and out.shape == (2, 3) and torch.isfinite(out).all()
    assert logits.device.type == "cpu"


@pytest.mark.parametrize("displacement", ["farneback", "dgm", "dynamic_image"])
def test_a_fold_trains_and_predicts_with_the_default_device_elsewhere(tmp_path, monkeypatch, displacement):
    """The trainer (class weights, batches, apex jitter), augmentation (flip, rotation, scale,
    shift, motion magnification), the DGM's self-supervised warm-up and prediction."""
    import mezoo.engine.fit as fit
    import mezoo.loso.job as job
    from mezoo.loso.job import run_fold
    from mezoo.loso.runner import start_run

    def elsewhere(function):
        def run(*args, **kwargs):
            with default_device_elsewhere():
                return function(*args, **kwargs)
        return run

    monkeypatch.setattr(fit, "train_epochs", elsewhere(fit.train_epochs))
    monkeypatch.setattr(job, "predict", elsewhere(job.predict))
    settings = tiny_settings(train={"epochs": 1, "apex_jitter": 1, "augmentations": ["motion_magnification"],
                                    "augment": {"hflip": 0.5, "rotate": 5, "scale": 0.05, "translate": 0.02}})
    settings = settings.changed({"displacement": {"name": displacement, **small(displacement)}})
    run = start_run(settings, tmp_path / "run", progress=False)
    result = run_fold(run.context, run.folds[0])
    assert len(result.y_pred) == len(run.folds[0].test)
    assert all(abs(sum(p) - 1) < 1e-4 for p in result.probs)


@pytest.mark.parametrize("displacement", ["farneback", "dgm"])
def test_bf16_autocast_and_channels_last_predict_as_fp32(tmp_path, displacement):
    """run.precision: bf16 runs the fusion head and the provider under bfloat16 autocast, on the
    CPU too: a fold's probabilities stay within 0.1 of fp32's and its classes agree on at least 5 of
    6 test samples (measured: within 0.002 with Farneback, 0.05 with the DGM, every class the same).
    run.channels_last gives fp32's predictions to 1e-5."""
    import numpy as np

    from mezoo.loso.job import run_fold
    from mezoo.loso.runner import start_run

    base = tiny_settings(train={"epochs": 2}).changed({"displacement": {"name": displacement, **small(displacement)}})
    probs = {}
    for name, change in (("fp32", {}), ("bf16", {"run": {"precision": "bf16"}}),
                         ("channels_last", {"run": {"channels_last": True}})):
        run = start_run(base.changed(change) if change else base, tmp_path / name, progress=False)
        probs[name] = np.array(run_fold(run.context, run.folds[0]).probs)
    assert len(probs["fp32"]) == 6
    assert np.abs(probs["bf16"] - probs["fp32"]).max() <= 0.1
    assert (probs["bf16"].argmax(1) == probs["fp32"].argmax(1)).sum() >= 5
    assert np.allclose(probs["channels_last"], probs["fp32"], atol=1e-5)
    assert base.changed({"run": {"precision": "bf16"}}).fingerprint == base.fingerprint  # how, not what


@pytest.mark.parametrize("fusion", ["fu_b_attn", "fu_b_attn_s"])
def test_the_predictor_keeps_to_its_models_device(fusion):
    """The predictor on a pair and on a clip (apex spotting, resampling for a sequence model: the
    TIM plugin's FRL-DGT-S head when it is installed), with the default device elsewhere."""
    import numpy as np

    from mezoo.data.synthetic import SyntheticDataset
    from mezoo.inference.predictor import Predictor

    if fusion not in plugins.names("fusion"):
        pytest.skip(f"{fusion} is the TIM plugin's (plugins/mezoo-tim), not installed here")
    settings = tiny_settings().changed({"displacement": {"name": "dgm", **small("dgm")}, "fusion": {"name": fusion}})
    if fusion == "fu_b_attn_s":
        settings = settings.changed({"fusion": {fusion: {"embed_dim": 32, "num_heads": 4, "patch_size": 18}},
                                     "sequence": {"length": 4}})
    model = build_model(settings, 3).eval()
    predictor = Predictor.from_model(model, settings, ("negative", "positive", "surprise"))
    sample = SyntheticDataset(subjects=2, clips_per_subject=1, size=112).samples()[0]
    frames = [sample.read_frame(i) for i in range(len(sample))]
    predictor.predict_pair(frames[0], frames[sample.apex])  # dlib's model loaded outside the check
    with default_device_elsewhere():
        pair = predictor.predict_pair(frames[0], frames[sample.apex])
        clip = predictor.predict_clip(frames)
    for got in (pair, clip):
        assert set(got.probs) == {"negative", "positive", "surprise"}
        assert np.isfinite(list(got.probs.values())).all() and abs(sum(got.probs.values()) - 1) < 1e-4
