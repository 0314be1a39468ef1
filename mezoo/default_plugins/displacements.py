"""Built-in displacement providers."""

from mezoo import hookimpl
from mezoo.displacement.dgm import DGM
from mezoo.displacement.dynamic_image import DynamicImage
from mezoo.displacement.farneback import Farneback
from mezoo.displacement.of_norm import OFNorm


@hookimpl
def register_displacements(register):
    register(DGM, name="dgm")
    register(Farneback, name="farneback")
    register(OFNorm, name="of_norm")
    register(DynamicImage, name="dynamic_image")
