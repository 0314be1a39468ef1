"""An example mezoo plugin: the normal-flow displacement provider.

The hook registers the provider by its import path, so mezoo imports ``normal_flow`` (and torch
and kornia with it) only when the provider is used, not when it lists plugins.
"""

from mezoo import hookimpl


@hookimpl
def register_displacements(register):
    register("mezoo_example.normal_flow:NormalFlow", name="normal_flow")
