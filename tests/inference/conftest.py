"""A small model trained once for the inference tests, and synthetic material to predict on."""

from __future__ import annotations

import pytest

from mezoo.config import merge
from mezoo.settings import load_settings


def small_settings(cache_dir, **overrides):
    """A model that trains in seconds on 4 synthetic subjects (farneback + a small Fu-B-Attn head)."""
    return load_settings(overrides=merge({
        "dataset": {"name": "synthetic", "synthetic": {"subjects": 4, "clips_per_subject": 6, "size": 112}},
        "displacement": {"name": "farneback"},
        "fusion": {"name": "fu_b_attn", "fu_b_attn": {"embed_dim": 32, "num_heads": 4, "patch_size": 18}},
        "face": {"size": 112},
        "regions": {"size": 36, "full_face_size": 36},
        "train": {"epochs": 8, "batch_size": 8},
        "run": {"device": "cpu", "cache_dir": str(cache_dir)},
    }, overrides))


@pytest.fixture(scope="package")
def trained(tmp_path_factory):
    """(settings, the trained model in memory, its model directory)."""
    from mezoo.inference.modeldir import write_model_dir
    from mezoo.inference.train import fit_deployment

    root = tmp_path_factory.mktemp("model")
    settings = small_settings(root / "cache")
    done = fit_deployment(settings, progress=False)
    path = write_model_dir(root / "model", settings, done.model, done.classes, done.data, done.seconds)
    return settings, done, path


@pytest.fixture(scope="package")
def people():
    """Synthetic clips of people the model never saw (seed 1), at 224 px, filmed with their forehead
    and chin in view (as a camera films a face), where dlib finds their faces."""
    from mezoo.data.synthetic import VIDEO_SPAN, SyntheticDataset

    return SyntheticDataset(subjects=2, clips_per_subject=6, seed=1, span=VIDEO_SPAN).samples()
