"""Built-in training augmentations (registered by import path: nothing is imported until used)."""

from mezoo import hookimpl


@hookimpl
def register_augmentations(register):
    register("mezoo.augment:MotionMagnification", name="motion_magnification")
