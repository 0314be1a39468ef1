"""Built-in displacement providers (registered by import path: nothing is imported until used)."""

from mezoo import hookimpl


@hookimpl
def register_displacements(register):
    register("mezoo.displacement.dgm:DGM", name="dgm")
    register("mezoo.displacement.farneback:Farneback", name="farneback")
    register("mezoo.displacement.tvl1:TVL1", name="tvl1")
    register("mezoo.displacement.of_norm:OFNorm", name="of_norm")
    register("mezoo.displacement.dynamic_image:DynamicImage", name="dynamic_image")
    register("mezoo.displacement.strain:OpticalStrain", name="optical_strain")
