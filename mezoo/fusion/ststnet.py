"""STSTNet (Liong, See, Wong and Phan, "Shallow Triple Stream Three-dimensional CNN (STSTNet) for
Micro-expression Recognition", FG 2019; the MEGC2019 baseline), written here from the paper.

Input: the optical strain, horizontal and vertical flow of onset -> apex over the whole face,
resized to 28 x 28. Three convolution streams side by side, 3, 5 and 8 kernels of 3 x 3 (padding
"same"), each with ReLU and 3 x 3 max pooling of stride 3; their 16 maps concatenated, 2 x 2
average pooling of stride 2, and one fully connected layer to the classes.

Where the paper is silent, mezoo chooses: the pooling pads the 28 x 28 maps to 30 x 30 ("same"
pooling, 10 x 10 out; the 2 x 2 average pooling then gives 5 x 5 x 16 = 400 features), the resize
is area averaging, and no dropout.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mezoo.fusion.base import FusionHead


class STSTNet(FusionHead):
    """STSTNet on the last ``input_channels`` channels of the full face: the displacement's, which
    with ``--displacement optical_strain`` are horizontal flow, vertical flow and strain (its three
    streams' input). Regions are not used.

    Args:
        input_channels: how many of the face's last channels to use (3: the ``optical_strain``
            provider's; 2: a plain flow's).
        input_size: the side the face is resized to (the paper's 28).
        streams: kernels of each stream (the paper's 3, 5, 8).

    Shape:
        - face: ``(B, M, S, S)``, ``M >= input_channels``; output: ``(B, num_classes)``.
    """

    uses_regions = False

    def __init__(self, in_channels: int, num_classes: int, num_regions: int = 9, region_size: int = 90,
                 face_size: int = 90, input_channels: int = 3, input_size: int = 28,
                 streams: tuple[int, ...] | list[int] = (3, 5, 8)):
        super().__init__()
        from mezoo.errors import ConfigError

        if not 1 <= input_channels <= in_channels:
            raise ConfigError(f"fusion.ststnet.input_channels is {input_channels}; the model's inputs have "
                              f"{in_channels} channels (onset, apex, displacement): give 1 to {in_channels} "
                              f"(3 with --displacement optical_strain)")
        if input_size < 6:
            raise ConfigError(f"fusion.ststnet.input_size is {input_size}; give at least 6 (the paper's 28)")
        streams = [int(k) for k in streams]
        if not streams or min(streams) < 1:
            raise ConfigError(f"fusion.ststnet.streams is {list(streams)}; give a list of kernel counts, each >= 1 "
                              f"(the paper's [3, 5, 8])")
        self.input_channels, self.input_size = int(input_channels), int(input_size)
        self.streams = nn.ModuleList(nn.Conv2d(self.input_channels, k, 3, padding=1) for k in streams)
        pooled = -(-self.input_size // 3) // 2  # "same" 3 x 3 max pooling of stride 3, then 2 x 2 average pooling
        self.classifier = nn.Linear(sum(streams) * pooled * pooled, num_classes)

    def forward(self, regions: Tensor | None, face: Tensor) -> Tensor:
        x = face[:, -self.input_channels:]
        x = F.interpolate(x, size=(self.input_size, self.input_size), mode="area")
        maps = []
        for conv in self.streams:
            y = F.relu(conv(x))
            pad = (-y.shape[-1]) % 3
            y = F.pad(y, (0, pad, 0, pad), value=float("-inf")) if pad else y
            maps.append(F.max_pool2d(y, 3, stride=3))
        x = F.avg_pool2d(torch.cat(maps, dim=1), 2, stride=2)
        return self.classifier(x.flatten(1))
