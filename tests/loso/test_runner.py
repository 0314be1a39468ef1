"""A whole LOSO run: the run directory, resuming, settings clashes, bad input."""

import json

import numpy as np
import pytest
import torch

from mezoo import hookimpl
from mezoo.data import Dataset, Sample
from mezoo.data.synthetic import SyntheticDataset
from mezoo.data.registry import make_dataset
from mezoo.errors import DataError, StorageError, TrainingError
from mezoo.fusion import FuBAttn
from mezoo.engine import fit, loop
from mezoo.loso import job, runner
from mezoo.model import build_model
from tests.conftest import registered


def test_run_writes_the_run_directory(tiny_config, tmp_path):
    result = runner.run_loso(tiny_config(), tmp_path / "run", progress=False)
    run_dir = tmp_path / "run"
    assert sorted(p.name for p in (run_dir / "folds").iterdir()) == [
        "synthetic__s00.json", "synthetic__s01.json", "synthetic__s02.json"]
    for name in ("config.yaml", "predictions.csv", "report.json", "report.md", "confusion.png",
                 "fusion_weights.png"):
        assert (run_dir / name).is_file()
    report = json.loads((run_dir / "report.json").read_text())
    assert report == json.loads(json.dumps(result.report))
    assert report["full"]["n"] == 18 and set(report["parts"]) == {"synthetic"}
    assert 0.0 <= report["full"]["uf1"] <= 1.0
    assert (report["run"]["inputs"], report["run"]["executor"]) == ("jittered", "local")
    lines = (run_dir / "predictions.csv").read_text().splitlines()
    assert lines[0].startswith("key,subject,part,true,predicted,p_negative")
    assert len(lines) == 19
    fold = json.loads((run_dir / "folds" / "synthetic__s00.json").read_text())
    assert len(fold["train_loss"]) == 2 and len(fold["y_pred"]) == 6
    assert np.allclose(np.sum(fold["probs"], axis=1), 1.0, atol=1e-4)
    local, global_ = np.array(fold["fusion_weights"]["local"]), np.array(fold["fusion_weights"]["global"])
    assert local.shape == (9, 4) and global_.shape == (9,)  # 36 px regions of 18 px patches: N = 4
    assert np.allclose(local.sum(1), 1.0, atol=1e-4) and np.isclose(global_.sum(), 1.0, atol=1e-4)


@pytest.mark.parametrize("overrides, path", [
    ({"train": {"apex_jitter": 0}}, "precomputed"),  # farneback: the head alone on crops cut once
    ({"train": {"apex_jitter": 1}}, "jittered"),
    ({"train": {"apex_jitter": 0, "augment": {"hflip": 0.5}}}, "augmented"),
    ({"train": {"augmentations": ["motion_magnification"]}}, "augmented"),
    ({"displacement": {"name": "dgm", "dgm": {"width": 4}}}, "live"),  # a DGM from scratch trains
    ({"displacement": {"name": "dgm", "dgm": {"width": 4}}, "train": {"augment": {"rotate": 5.0}}}, "live"),
])
def test_the_input_path_is_chosen_once_from_the_model_and_training(tiny_config, overrides, path):
    from mezoo.engine.inputs import choose_input_path

    settings = tiny_config(**overrides)
    assert choose_input_path(settings, build_model(settings, num_classes=3)).name == path


def test_checkpoints_reload_into_the_model(tiny_config, tmp_path):
    from safetensors.torch import load_file

    cfg = tiny_config(run={"checkpoints": True})
    runner.run_loso(cfg, tmp_path, progress=False)
    files = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    assert files == ["synthetic__s00.safetensors", "synthetic__s01.safetensors", "synthetic__s02.safetensors"]
    model = build_model(cfg, 3)
    state = load_file(str(tmp_path / "checkpoints" / "synthetic__s01.safetensors"))
    assert set(state) == set(model.state_dict())
    model.load_state_dict(state)
    fresh = build_model(cfg, 3).state_dict()
    assert any(not torch.equal(state[k], fresh[k]) for k in state)  # trained, not the initial weights


def test_resume_skips_finished_folds(tiny_config, tmp_path, monkeypatch):
    trainings = []
    real = loop.train_epochs

    def counting(*args, **kwargs):
        trainings.append(kwargs["fold_name"])
        return real(*args, **kwargs)

    monkeypatch.setattr(fit, "train_epochs", counting)
    cfg = tiny_config()
    first = runner.run_loso(cfg, tmp_path, progress=False)
    assert len(trainings) == 3 and first.skipped == []
    (tmp_path / "folds" / "synthetic__s01.json").unlink()  # as if the run had stopped there
    second = runner.run_loso(cfg, tmp_path, progress=False)
    assert trainings[3:] == ["synthetic/s01"]
    assert second.trained == ["synthetic/s01"] and second.skipped == ["synthetic/s00", "synthetic/s02"]
    third = runner.run_loso(cfg, tmp_path, progress=False)
    assert len(trainings) == 4 and third.trained == []
    assert third.report["full"] == second.report["full"]


def test_other_settings_in_the_same_directory_is_an_error(tiny_config, tmp_path):
    runner.run_loso(tiny_config(), tmp_path, progress=False)
    with pytest.raises(StorageError, match="holds 3 finished fold.s. of other settings"):
        runner.run_loso(tiny_config(seed=1), tmp_path, progress=False)


def test_folds_are_reproducible(tiny_config, tmp_path):
    a = runner.run_loso(tiny_config(), tmp_path / "a", progress=False)
    b = runner.run_loso(tiny_config(), tmp_path / "b", progress=False)
    fa = json.loads((tmp_path / "a" / "folds" / "synthetic__s02.json").read_text())
    fb = json.loads((tmp_path / "b" / "folds" / "synthetic__s02.json").read_text())
    assert fa["probs"] == fb["probs"]
    assert a.report["full"] == b.report["full"]


class _NaNAfterFirstStep(FuBAttn):
    """A fusion head whose output turns to NaN from its second training call on."""

    def forward(self, regions, face):
        out = super().forward(regions, face)
        self.calls = getattr(self, "calls", 0) + 1
        return out * float("nan") if self.calls > 1 else out


class _NaNPlugin:
    @hookimpl
    def register_fusions(self, register):
        register(_NaNAfterFirstStep, name="nan_head")


def test_nan_loss_names_the_fold_and_step(tiny_config, tmp_path):
    with registered(_NaNPlugin(), "nan"):
        cfg = tiny_config(fusion={"name": "nan_head", "nan_head": {"embed_dim": 32, "num_heads": 4}})
        with pytest.raises(TrainingError, match=r"fold synthetic/s00: loss is nan at epoch 1, step 2; lower train.lr"):
            runner.run_loso(cfg, tmp_path, progress=False)
    assert not (tmp_path / "folds" / "synthetic__s00.json").exists()


class _BadOnset(Dataset):
    classes = ("negative", "positive", "surprise")

    def samples(self):
        good = SyntheticDataset(subjects=2, clips_per_subject=2, size=64).samples()
        bad = good[0]
        return good[1:] + [Sample(bad.dataset, bad.subject, "ep_bad", onset=5, apex=2, offset=8,
                                  emotion="surprise", label="surprise", source=bad.source)]


class _BadOnsetPlugin:
    @hookimpl
    def register_datasets(self, register):
        register(_BadOnset, name="bad_onset")


def test_onset_after_apex_names_the_sample(tiny_config, tmp_path):
    with registered(_BadOnsetPlugin(), "bad-onset"):
        with pytest.raises(DataError, match=r"sample synthetic/s00/ep_bad: onset frame 5 comes after apex frame 2"):
            runner.run_loso(tiny_config(dataset={"name": "bad_onset"}), tmp_path, progress=False)


def test_missing_frame_file_names_the_file(tmp_path):
    sample = Sample("casme2", "sub01", "EP01", 0, 1, 1, "happiness", "positive",
                    frames=(tmp_path / "img1.jpg", tmp_path / "img2.jpg"))
    with pytest.raises(DataError, match=r"sample casme2/sub01/EP01: frame .*img1.jpg is missing"):
        sample.read_frame(0)
    (tmp_path / "img1.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(DataError, match=r"img1.jpg cannot be decoded"):
        sample.read_frame(0)


class _GuardedLabels:
    """Labels that fail the test when a test-subject label, or the whole array, is read."""

    def __init__(self, labels, forbidden):
        self.labels = labels
        self.forbidden = set(forbidden.tolist())

    def __getitem__(self, idx):
        wanted = set(np.atleast_1d(np.arange(len(self.labels))[idx]).tolist())
        assert not wanted & self.forbidden, "a test-subject label was read during its fold"
        return self.labels[idx]

    def __array__(self, *args, **kwargs):
        raise AssertionError("the whole label array was read during a fold")

    def __len__(self):
        return len(self.labels)


@pytest.mark.parametrize("provider", ["farneback", "dgm"])
def test_no_code_path_reads_test_labels_during_a_fold(provider, tiny_config):
    import torch

    from mezoo.loso.folds import loso_folds
    from mezoo.engine.inputs import choose_input_path
    from mezoo.engine.frames import read_frames

    cfg = tiny_config(displacement={"name": provider, "dgm": {"width": 4, "warmup_steps": 1, "pairs_per_clip": 1,
                                                              "pair_batch_size": 2}})
    dataset = make_dataset(cfg.dataset)
    samples = dataset.samples()
    data = read_frames(samples, dataset.classes, 112, True, progress=False, apex_jitter=1)
    fold = loso_folds(data.groups)[1]
    model = build_model(cfg, num_classes=3)
    shared = choose_input_path(cfg, model).compute(cfg, model, data, torch.device("cpu"), progress=False)
    data.labels = _GuardedLabels(data.labels, fold.test)
    done = job.run_fold(fit.TrainingContext(cfg, data, shared, num_classes=3), fold)
    assert len(done.y_pred) == len(fold.test) == 6


@pytest.mark.parametrize("provider", ["farneback", "dynamic_image", "dgm"])
def test_run_with_augmentation_and_apex_jitter(provider, tiny_config, tmp_path):
    cfg = tiny_config(
        displacement={"name": provider, "dgm": {"width": 4, "warmup_steps": 1, "pairs_per_clip": 1,
                                                "pair_batch_size": 2}},
        train={"epochs": 1, "apex_jitter": 2,
               "augment": {"hflip": 0.5, "rotate": 5.0, "scale": 0.05, "translate": 0.02}},
    )
    report = runner.run_loso(cfg, tmp_path, progress=False).report
    assert report["full"]["n"] == 18 and 0.0 <= report["full"]["uf1"] <= 1.0


def test_run_with_motion_magnification(tiny_config, tmp_path):
    cfg = tiny_config(train={"epochs": 1, "augmentations": ["motion_magnification"]})
    report = runner.run_loso(cfg, tmp_path, progress=False).report
    assert report["full"]["n"] == 18


def test_mean_fusion_weights_do_not_depend_on_the_batch_size():
    torch.manual_seed(0)
    head = FuBAttn(in_channels=8, num_classes=3, embed_dim=16, num_heads=2, region_size=36, face_size=36)
    regions, face = torch.rand(7, 9, 8, 36, 36), torch.rand(7, 8, 36, 36)

    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fusion = head

    def forward(idx):
        return head(regions[idx], face[idx]), None

    rows = np.arange(7)
    whole = fit.mean_fusion_weights(model=Model(), forward=forward, rows=rows, batch_size=7)
    batched = fit.mean_fusion_weights(model=Model(), forward=forward, rows=rows, batch_size=3)  # 3 + 3 + 1
    assert whole.keys() == batched.keys() == {"local", "global", "face"}
    for name in whole:
        assert np.allclose(whole[name], batched[name], atol=1e-6)
    head(regions[:1], face[:1])
    first = head.fusion_weights()["global"].mean((0, 1)).tolist()
    assert not np.allclose(first, whole["global"], atol=1e-6)  # the mean is over every sample


def test_a_model_that_diverges_on_its_last_step_stops_without_a_report(tiny_config, tmp_path):
    """The loss before the last update is finite; the weights after it are not: no report, the fold named."""
    cfg = tiny_config(train={"epochs": 1, "batch_size": 16, "lr": 1e6})  # one step: its loss is finite
    with pytest.raises(TrainingError, match=r"fold synthetic/s00: .*not finite"):
        runner.run_loso(cfg, tmp_path, progress=False)
    assert not (tmp_path / "report.json").exists()
    assert not (tmp_path / "folds" / "synthetic__s00.json").exists()


def test_batch_size_one_trains_every_sample(tiny_config, tmp_path, monkeypatch):
    steps = []
    original = torch.optim.Adam.step

    def counting(self, *args, **kwargs):
        steps.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", counting)
    history = runner.run_loso(tiny_config(train={"epochs": 1, "batch_size": 1}), tmp_path, progress=False)
    assert history.report["full"]["uf1"] >= 0
    assert len(steps) == 3 * 12  # 3 folds, 12 training clips each, one step per clip
