"""An example mezoo plugin: a displacement provider (normal flow), a classical feature extractor
(MDMO) with a classifier (logistic regression), and a zoo model that uses them.

The hooks register components by their import path, so mezoo imports ``normal_flow`` (and torch
and kornia with it) or ``mdmo`` only when they are used, not when it lists plugins.
"""

from mezoo import hookimpl


@hookimpl
def register_displacements(register):
    register("mezoo_example.normal_flow:NormalFlow", name="normal_flow")


@hookimpl
def register_features(register):
    register("mezoo_example.mdmo:MDMO", name="mdmo")


@hookimpl
def register_classifiers(register):
    register("mezoo_example.mdmo:Logistic", name="logistic")


@hookimpl
def register_models(register):
    from mezoo.zoo import ZooModel

    register(ZooModel("MDMO + logistic (example plugin)",
                      {"features": {"name": "mdmo"}, "classifier": {"name": "logistic"},
                       "displacement": {"name": "farneback"}},
                      paper="Liu et al., IEEE TAC 2016 (MDMO)"), name="mdmo")
