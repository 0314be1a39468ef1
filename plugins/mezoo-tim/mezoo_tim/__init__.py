"""mezoo-tim: FRL-DGT-S, the sequence extension of FRL-DGT, with the Temporal Interpolation Model.

Installed separately (``pip install -e plugins/mezoo-tim``); mezoo finds it through its ``mezoo``
entry point. It registers the interpolator ``tim``, which resamples each clip to T = 10 frames,
and the sequenced fusion heads ``fu_b_attn_s`` (TransFu-S, paper sec. 4.4) and ``fu_a_attn_s``:

    mezoo run --displacement dgm --fusion fu_b_attn_s
"""

from typing import Any

from mezoo import hookimpl

__version__ = "0.1.0"
__all__ = ["FuAAttnS", "FuBAttnS", "SequencedFusion", "path_graph_embedding", "tim", "tim_weights"]
_WHERE = {"FuAAttnS": "sequence", "FuBAttnS": "sequence", "SequencedFusion": "sequence",
          "path_graph_embedding": "tim", "tim": "tim", "tim_weights": "tim"}


def __getattr__(name: str) -> Any:
    # mezoo loads this module to register the plugin: the model code (torch) is imported on use only
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(f"mezoo_tim.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'mezoo_tim' has no attribute {name!r}")


@hookimpl
def register_interpolators(register):
    register("mezoo_tim.tim:tim", name="tim")


@hookimpl
def register_fusions(register):
    register("mezoo_tim.sequence:FuBAttnS", name="fu_b_attn_s")
    register("mezoo_tim.sequence:FuAAttnS", name="fu_a_attn_s")
