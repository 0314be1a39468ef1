"""Built-in datasets, apex spotters and temporal interpolators (registered by import path:
nothing is imported until used)."""

from mezoo import hookimpl


@hookimpl
def register_datasets(register):
    register("mezoo.data.synthetic:SyntheticDataset", name="synthetic")
    register("mezoo.data.photo_motion:PhotoMotionDataset", name="photo_motion")
    register("mezoo.data.casme2:CASME2", name="casme2")
    register("mezoo.data.samm:SAMM", name="samm")
    register("mezoo.data.smic:SMIC", name="smic")
    register("mezoo.data.megc2019:MEGC2019", name="megc2019")
    register("mezoo.data.casme3:CASME3", name="casme3")


@hookimpl
def register_apex_spotters(register):
    register("mezoo.data.apex:middle", name="middle")
    register("mezoo.data.apex:max_difference", name="max_difference")
    register("mezoo.data.apex:motion_energy", name="motion_energy")


@hookimpl
def register_interpolators(register):
    register("mezoo.data.interpolate:linear", name="linear")
