"""Shared fixtures: device (CPU, plus CUDA when present), tiny configs, inline plugins."""

from __future__ import annotations

import contextlib

import pytest
import torch

from mezoo import plugins
from mezoo.config import merge
from mezoo.settings import load_settings

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.fixture(params=DEVICES)
def device(request) -> torch.device:
    return torch.device(request.param)


@contextlib.contextmanager
def registered(plugin, name: str):
    """Register an inline plugin for the duration of a ``with`` block."""
    plugins.load_plugins()
    plugins.pm.register(plugin, name=name)
    try:
        yield plugin
    finally:
        plugins.pm.unregister(name=name)


def tiny_settings(**overrides):
    """Settings of a LOSO run that trains in seconds: 3 small subjects, a small head, 2 epochs, CPU;
    keyword arguments are more overrides (``train={"epochs": 1}``)."""
    return load_settings(overrides=merge({
        "dataset": {"synthetic": {"subjects": 3, "clips_per_subject": 6, "size": 112}},
        "face": {"size": 112},
        "regions": {"size": 36, "full_face_size": 36},
        "fusion": {"fu_b_attn": {"embed_dim": 32, "num_heads": 4, "patch_size": 18},
                   "fu_a_attn": {"embed_dim": 32, "num_heads": 4, "patch_size": 18},
                   "vit_grid": {"embed_dim": 32, "num_heads": 4, "patch_size": 18, "depth": 1}},
        "displacement": {"dgm": {"weights": None}},  # tests shrink the DGM: not the shipped weights' size
        "train": {"epochs": 2, "batch_size": 8},
        "run": {"device": "cpu", "checkpoints": False},
    }, overrides))


@pytest.fixture
def tiny_config():
    """:func:`tiny_settings`, as a fixture."""
    return tiny_settings


@pytest.fixture(autouse=True)
def _cache_in_tmp(tmp_path_factory, monkeypatch):
    """Keep the preprocessing cache of every test out of the user's home."""
    monkeypatch.setenv("MEZOO_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))
