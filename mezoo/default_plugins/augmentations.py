"""Built-in training augmentations."""

from mezoo import hookimpl
from mezoo.augment import MotionMagnification


@hookimpl
def register_augmentations(register):
    register(MotionMagnification, name="motion_magnification")
