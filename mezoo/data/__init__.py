"""Datasets and the sample type they all yield."""

from typing import Any

from mezoo.data.sample import Dataset, FrameSource, Sample, class_index


def __getattr__(name: str) -> Any:
    if name == "SyntheticDataset":  # on first use: it needs OpenCV
        from mezoo.data.synthetic import SyntheticDataset

        return SyntheticDataset
    raise AttributeError(f"module 'mezoo.data' has no attribute {name!r}")

__all__ = ["Dataset", "FrameSource", "Sample", "SyntheticDataset", "class_index"]
