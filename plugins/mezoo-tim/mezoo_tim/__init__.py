"""mezoo-tim: FRL-DGT-S, the sequence extension of FRL-DGT, with the Temporal Interpolation Model.

Installed separately (``pip install -e plugins/mezoo-tim``); mezoo finds it through its ``mezoo``
entry point. It registers the interpolator ``tim``, which resamples each clip to T = 10 frames,
and the sequenced fusion heads ``fu_b_attn_s`` (TransFu-S, paper sec. 4.4) and ``fu_a_attn_s``:

    mezoo run --displacement dgm --fusion fu_b_attn_s
"""

from mezoo import hookimpl
from mezoo_tim.sequence import FuAAttnS, FuBAttnS, SequencedFusion
from mezoo_tim.tim import path_graph_embedding, tim, tim_weights

__version__ = "0.1.0"
__all__ = ["FuAAttnS", "FuBAttnS", "SequencedFusion", "path_graph_embedding", "tim", "tim_weights"]


@hookimpl
def register_interpolators(register):
    register(tim, name="tim")


@hookimpl
def register_fusions(register):
    register(FuBAttnS, name="fu_b_attn_s")
    register(FuAAttnS, name="fu_a_attn_s")
