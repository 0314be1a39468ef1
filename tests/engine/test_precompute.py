"""Deterministic providers are computed once per sample and cached on disk."""

import numpy as np
import pytest
import torch

from mezoo.data.cache import DiskCache, digest
from mezoo.data.synthetic import CLASSES, SyntheticDataset
from mezoo.displacement import Farneback
from mezoo.displacement.dynamic_image import DynamicImage
from mezoo.engine.frames import read_frames
from mezoo.engine.precompute import precompute_displacements, provider_id


class CountingFarneback(Farneback):
    calls = 0

    def forward(self, onset, apex, mask=None):
        CountingFarneback.calls += len(onset)
        return super().forward(onset, apex, mask)


@pytest.fixture(scope="module")
def data():
    samples = SyntheticDataset(subjects=2, clips_per_subject=3, size=64).samples()
    return read_frames(samples, CLASSES, size=64, progress=False)


def test_second_run_reads_the_cache(data, tmp_path):
    cache = DiskCache(tmp_path)
    CountingFarneback.calls = 0
    first = precompute_displacements(CountingFarneback(), "fb", data, 64, True, cache, progress=False)
    assert first.shape == (6, 2, 64, 64) and CountingFarneback.calls == 6
    second = precompute_displacements(CountingFarneback(), "fb", data, 64, True, cache, progress=False)
    assert CountingFarneback.calls == 6  # not computed again
    assert torch.equal(first, second)
    precompute_displacements(CountingFarneback(), "fb:other-options", data, 64, True, cache, progress=False)
    assert CountingFarneback.calls == 12  # other settings, other keys


def test_truncated_entry_is_rebuilt(data, tmp_path):
    cache = DiskCache(tmp_path)
    CountingFarneback.calls = 0
    first = precompute_displacements(CountingFarneback(), "fb", data, 64, True, cache, progress=False)
    files = sorted(cache.dir.rglob("*.npy"))
    assert len(files) == 6
    files[0].write_bytes(files[0].read_bytes()[:50])  # as if a crash cut the write short
    again = precompute_displacements(CountingFarneback(), "fb", data, 64, True, cache, progress=False)
    assert CountingFarneback.calls == 7
    assert torch.equal(first, again)


def test_sequence_provider_reads_onset_to_apex(data, tmp_path):
    out = precompute_displacements(DynamicImage(), provider_id("dynamic_image", {}), data, 64, True,
                                   DiskCache(tmp_path), progress=False)
    assert out.shape == (6, 3, 64, 64)
    assert out.pow(2).mean((1, 2, 3)).sqrt().allclose(torch.ones(6), atol=1e-2)


def test_digest_depends_on_content():
    a = np.zeros((2, 2), np.uint8)
    b = a.copy()
    b[0, 0] = 1
    assert digest("x", a) == digest("x", a.copy()) != digest("x", b)
    assert provider_id("farneback", {"levels": 3}) != provider_id("farneback", {"levels": 4})
    old, new = DynamicImage(), DynamicImage()
    new.cache_version = old.cache_version + "+1"  # a provider whose output changed gets new cache entries
    assert provider_id("dynamic_image", {}, old) != provider_id("dynamic_image", {}, new)
