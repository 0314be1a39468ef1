"""Built-in displacement providers."""

from mezoo import hookimpl
from mezoo.displacement.farneback import Farneback


@hookimpl
def register_displacements(register):
    register(Farneback, name="farneback")
