"""Datasets and the sample type they all yield."""

from mezoo.data.sample import Dataset, FrameSource, Sample, class_index
from mezoo.data.synthetic import SyntheticDataset

__all__ = ["Dataset", "FrameSource", "Sample", "SyntheticDataset", "class_index"]
