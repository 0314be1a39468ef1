"""Device names as mezoo's settings give them (``run.device``)."""

from __future__ import annotations

import torch

from mezoo.errors import ConfigError


def resolve_device(name: str) -> torch.device:
    """``auto`` -> CUDA when present, else CPU; anything else as torch reads it.

    Raises:
        ConfigError: torch cannot read the name, or it asks for CUDA that is not there.
    """
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError):
        raise ConfigError(f"run.device {name!r} is not a device torch knows; use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {name!r} asked for, but this torch sees no CUDA device; use --device cpu")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise ConfigError(f"device {name!r} asked for, but this machine has {torch.cuda.device_count()} CUDA "
                          f"device(s), numbered from 0")
    return device
