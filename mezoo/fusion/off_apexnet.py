"""Off-ApexNet (Gan, Liong, Yau, Huang and Tan, "OFF-ApexNet on micro-expression recognition
system", Signal Processing: Image Communication 74, 2019), written here from the paper.

Input: the horizontal and vertical optical flow of onset -> apex over the whole face, each resized
to 28 x 28 and fed to a stream of its own. Each stream: a 5 x 5 convolution of 6 kernels, ReLU,
2 x 2 max pooling; a 5 x 5 convolution of 16 kernels, ReLU, 2 x 2 max pooling. The two streams'
features are concatenated and go through two fully connected layers of 1024 units to the classes.

Where the paper is silent, mezoo chooses: convolutions pad "same" (28 -> 14 -> 7, 7 x 7 x 16 =
784 features a stream), the resize is area averaging, dropout 0.5 after each hidden layer, and
ReLU on the hidden layers.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mezoo.fusion.base import FusionHead


class OffApexNet(FusionHead):
    """Off-ApexNet on the last two channels of the full face: the displacement's horizontal and
    vertical flow with ``--displacement farneback`` (or ``tvl1``). Regions are not used.

    Args:
        input_size: the side each flow component is resized to (the paper's 28).
        kernels: the two convolutions' kernel counts in each stream (the paper's 6, 16).
        hidden: units of each of the two fully connected layers (the paper's 1024).
        dropout: dropout after each fully connected hidden layer (paper silent; 0.5).
        flow_channels: where the flow sits among the face's channels, counted from the last: the
            default ``(-2, -1)`` is the displacement of a 2-channel provider; ``(-3, -2)`` takes the
            flow of ``optical_strain``'s three channels.

    Shape:
        - face: ``(B, M, S, S)``, ``M >= 2``; output: ``(B, num_classes)``.
    """

    uses_regions = False

    def __init__(self, in_channels: int, num_classes: int, num_regions: int = 9, region_size: int = 90,
                 face_size: int = 90, input_size: int = 28, kernels: tuple[int, ...] | list[int] = (6, 16),
                 hidden: int = 1024, dropout: float = 0.5,
                 flow_channels: tuple[int, ...] | list[int] = (-2, -1)):
        super().__init__()
        from mezoo.errors import ConfigError

        if input_size < 4:
            raise ConfigError(f"fusion.off_apexnet.input_size is {input_size}; give at least 4 (the paper's 28)")
        kernels = [int(k) for k in kernels]
        if len(kernels) != 2 or min(kernels) < 1:
            raise ConfigError(f"fusion.off_apexnet.kernels is {list(kernels)}; give two kernel counts, each >= 1 "
                              f"(the paper's [6, 16])")
        if hidden < 1:
            raise ConfigError(f"fusion.off_apexnet.hidden is {hidden}; give at least 1 (the paper's 1024)")
        if not 0 <= dropout < 1:
            raise ConfigError(f"fusion.off_apexnet.dropout is {dropout}; give a value from 0 to below 1")
        channels = [int(c) for c in flow_channels]
        if len(channels) != 2 or any(not -in_channels <= c < 0 for c in channels) or channels[0] == channels[1]:
            raise ConfigError(f"fusion.off_apexnet.flow_channels is {list(flow_channels)}; give the two flow "
                              f"channels counted from the last, each from -{in_channels} to -1, e.g. [-2, -1]")
        self.flow_channels = channels
        self.input_size = int(input_size)
        self.streams = nn.ModuleList(
            nn.Sequential(nn.Conv2d(1, kernels[0], 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(kernels[0], kernels[1], 5, padding=2), nn.ReLU(), nn.MaxPool2d(2))
            for _ in range(2))
        side = self.input_size // 2 // 2
        self.classifier = nn.Sequential(
            nn.Linear(2 * kernels[1] * side * side, hidden), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(hidden, num_classes))

    def forward(self, regions: Tensor | None, face: Tensor) -> Tensor:
        x = F.interpolate(face[:, self.flow_channels], size=(self.input_size, self.input_size), mode="area")
        features = [stream(x[:, i:i + 1]).flatten(1) for i, stream in enumerate(self.streams)]
        return self.classifier(torch.cat(features, dim=1))
