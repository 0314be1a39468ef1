"""Optical strain: how much the face deforms between onset and apex (Liong et al., "Subtle
expression recognition using optical strain weighted features", 2014; the input of STSTNet and
Bi-WOOF), from the flow of another provider.

For a flow ``(u, v)`` the strain tensor is ``e = (grad w + grad w^T) / 2``; its magnitude per pixel,
``sqrt(e_xx^2 + e_yy^2 + e_xy^2 + e_yx^2) = sqrt(u_x^2 + v_y^2 + (u_y + v_x)^2 / 2)``. A translation
or a rotation of the whole head has none; a skin region that stretches or shears has it, which is
why the ME baselines use it to suppress head motion.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from mezoo.displacement.base import DisplacementProvider


def strain_magnitude(flow: Tensor, mask: Tensor | None = None) -> Tensor:
    """The optical strain magnitude of ``flow`` ``(B, 2, H, W)`` (pixels), ``(B, 1, H, W)``; central
    differences inside, one-sided at the edges. With ``mask`` ``(B, 1, H, W)`` (1 = valid), 0 where
    a difference would reach an invalid pixel (the mask eroded by one pixel).

    Example:
        >>> x = torch.arange(8.0).expand(8, 8)
        >>> stretch = torch.stack([0.1 * x, torch.zeros(8, 8)])[None]  # u = 0.1 x: e_xx = 0.1
        >>> round(strain_magnitude(stretch)[0, 0, 4, 4].item(), 4)
        0.1
    """
    u_y, u_x = torch.gradient(flow[:, 0], dim=(-2, -1))
    v_y, v_x = torch.gradient(flow[:, 1], dim=(-2, -1))
    out = torch.sqrt(u_x**2 + v_y**2 + 0.5 * (u_y + v_x) ** 2)[:, None]
    if mask is not None:
        out = out * -F.max_pool2d(-mask.to(out.dtype), 3, stride=1, padding=1)
    return out


class OpticalStrain(DisplacementProvider):
    """Optical strain of the onset -> apex flow of another provider.

    Args:
        flow: the flow provider, a registered deterministic provider whose output is a displacement
            in pixels (``farneback``, ``tvl1``, or one of a plugin).
        flow_options: that provider's options (its defaults where not given).
        with_flow: output the flow's two components and the strain magnitude, 3 channels
            (horizontal, vertical, strain: STSTNet's three streams); ``False``: the strain alone,
            1 channel.

    Deterministic: computed once per sample and cached (the cache key covers this provider's options,
    the flow provider's name and options among them, and the flow's code version). With the flow, augmentation mirrors and rotates channels 0-1 as a vector
    field and only warps the strain (a magnitude of a dimensionless tensor: unchanged by mirroring,
    rotation and scale); ``mezoo motion-accuracy`` leaves it out (its flow is the flow provider's).
    """

    def __init__(self, flow: str = "farneback", flow_options: dict[str, Any] | None = None, with_flow: bool = True):
        super().__init__()
        from mezoo import plugins
        from mezoo.errors import ConfigError

        if flow == "optical_strain":
            raise ConfigError("displacement.optical_strain.flow cannot be optical_strain itself; give a flow "
                              "provider such as farneback or tvl1")
        self.flow = plugins.make("displacement", flow, **dict(flow_options or {}))
        if self.flow.trainable or not self.flow.vector_field or not getattr(self.flow, "in_pixels", True):
            raise ConfigError(f"displacement.optical_strain.flow is {flow!r}, which is not a fixed optical flow in "
                              f"pixels; give farneback or tvl1 (or a plugin's such provider)")
        self.with_flow = bool(with_flow)
        self.vector_field = self.in_pixels = self.with_flow  # channels 0-1 are the flow, in pixels
        # (the cache key has this provider's options, the flow's among them; the flow's code version:)
        self.cache_version = f"1:{self.flow.cache_version}"

    def out_channels(self, frame_channels: int) -> int:
        return 3 if self.with_flow else 1

    def check_size(self, size: int) -> None:
        self.flow.check_size(size)

    def forward(self, onset: Tensor, apex: Tensor, mask: Tensor | None = None) -> Tensor:
        flow = self.flow(onset, apex, mask)
        strain = strain_magnitude(flow, mask)
        return torch.cat([flow, strain], dim=1) if self.with_flow else strain
