"""Built-in datasets, apex spotters and temporal interpolators."""

from mezoo import hookimpl
from mezoo.data import apex, interpolate
from mezoo.data.casme2 import CASME2
from mezoo.data.casme3 import CASME3
from mezoo.data.megc2019 import MEGC2019
from mezoo.data.samm import SAMM
from mezoo.data.smic import SMIC
from mezoo.data.synthetic import SyntheticDataset


@hookimpl
def register_datasets(register):
    register(SyntheticDataset, name="synthetic")
    register(CASME2, name="casme2")
    register(SAMM, name="samm")
    register(SMIC, name="smic")
    register(MEGC2019, name="megc2019")
    register(CASME3, name="casme3")


@hookimpl
def register_apex_spotters(register):
    register(apex.middle, name="middle")
    register(apex.max_difference, name="max_difference")


@hookimpl
def register_interpolators(register):
    register(interpolate.linear, name="linear")
