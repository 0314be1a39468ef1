"""Built-in fusion heads."""

from mezoo import hookimpl
from mezoo.fusion.transformer_fusion import FuAAttn, FuBAttn
from mezoo.fusion.vit_grid import ViTGrid


@hookimpl
def register_fusions(register):
    register(FuBAttn, name="fu_b_attn")
    register(FuAAttn, name="fu_a_attn")
    register(ViTGrid, name="vit_grid")
