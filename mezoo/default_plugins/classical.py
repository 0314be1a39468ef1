"""Built-in classical components: feature extractors and classifiers (registered by import path)."""

from mezoo import hookimpl


@hookimpl
def register_features(register):
    register("mezoo.classical.lbp_top:LBPTOP", name="lbp_top")
    register("mezoo.classical.bi_woof:BiWOOF", name="bi_woof")


@hookimpl
def register_classifiers(register):
    register("mezoo.classical.classifiers:LinearSVM", name="linear_svm")
