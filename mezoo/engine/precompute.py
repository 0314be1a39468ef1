"""Deterministic providers run once per sample, with their outputs cached on disk."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import Tensor
from tqdm.auto import tqdm

from mezoo.data.cache import DiskCache, digest
from mezoo.displacement.base import DisplacementProvider
from mezoo.engine.frames import Frames, read_face, to_chw


def provider_id(name: str, options: Mapping[str, Any], provider: DisplacementProvider | None = None) -> str:
    """A stable description of a provider, its code version and its settings, part of every cache key."""
    version = "" if provider is None else f"{type(provider).__qualname__}@{provider.cache_version}:"
    return f"{version}{name}:{json.dumps(dict(options), sort_keys=True, default=str)}"


def precompute_displacements(provider: DisplacementProvider, pid: str, data: Frames, size: int, color: bool,
                             cache: DiskCache | None, device: torch.device | str = "cpu",
                             batch_size: int = 32, progress: bool = True) -> Tensor:
    """The provider's output for every sample of ``data``, from the cache where it is there.

    The key covers the provider and its options, the sample, its onset and apex indices and the
    content of its onset and apex frames and validity mask (so new frames or settings never
    reuse old entries). The provider gets each sample's mask.
    Sequence providers read the frames from onset to apex only for samples not yet cached.

    Returns:
        ``(N, out_channels, H, W)`` float32 on the CPU.
    """
    n = len(data.keys)
    keys = [
        digest("displacement", pid, s.key, s.onset, s.apex, data.onset[i].numpy(), data.apex[i].numpy(),
               None if data.mask is None else data.mask[i].numpy())
        for i, s in enumerate(data.samples)
    ]
    shape = (provider.out_channels(data.onset.shape[1]), *data.onset.shape[-2:])
    out: list[np.ndarray | None] = [cache.load(k, shape) if cache is not None else None for k in keys]
    todo = [i for i in range(n) if out[i] is None]
    provider = provider.to(device).eval()
    chunks = [todo[i:i + batch_size] for i in range(0, len(todo), batch_size)]
    with torch.no_grad():
        for chunk in tqdm(chunks, desc="displacements", unit="batch", disable=not progress, leave=False):
            rows = torch.as_tensor(chunk, device="cpu")  # host-side indices
            masks = data.masks(rows, device)
            if provider.uses_sequence:
                results = [provider.from_sequence(_sequence(data, i, size, color, device),
                                                  None if masks is None else masks[k:k + 1])[0]
                           for k, i in enumerate(chunk)]
            else:
                onset, apex, _ = data.frames(rows, device)
                results = list(provider(onset, apex, masks))
            for i, d in zip(chunk, results):
                array = d.cpu().numpy().astype(np.float16)
                out[i] = array
                if cache is not None:
                    cache.save(keys[i], array)
    return torch.from_numpy(np.stack(out)).float()


def _sequence(data: Frames, i: int, size: int, color: bool, device: torch.device | str) -> Tensor:
    s = data.samples[i]
    frames = [to_chw(read_face(s, t, size, data.faces)[0], color) for t in range(s.onset, s.apex + 1)]
    return torch.from_numpy(np.stack(frames))[None].to(device).float().div_(255)
