"""Built-in datasets."""

from mezoo import hookimpl
from mezoo.data.synthetic import SyntheticDataset


@hookimpl
def register_datasets(register):
    register(SyntheticDataset, name="synthetic")
