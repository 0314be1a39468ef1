"""Built-in fusion heads (registered by import path: nothing is imported until used)."""

from mezoo import hookimpl


@hookimpl
def register_fusions(register):
    register("mezoo.fusion.transformer_fusion:FuBAttn", name="fu_b_attn")
    register("mezoo.fusion.transformer_fusion:FuAAttn", name="fu_a_attn")
    register("mezoo.fusion.vit_grid:ViTGrid", name="vit_grid")
    register("mezoo.fusion.ststnet:STSTNet", name="ststnet")
    register("mezoo.fusion.off_apexnet:OffApexNet", name="off_apexnet")
