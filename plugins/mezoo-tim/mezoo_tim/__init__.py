"""mezoo-tim: the Temporal Interpolation Model (TIM) as a mezoo interpolator plugin.

Installed separately (``pip install -e plugins/mezoo-tim``); mezoo finds it through its ``mezoo``
entry point. It registers the interpolator ``tim``, which FRL-DGT-S uses to resample each clip to
T = 10 frames (paper sec. 4.4).
"""

from mezoo import hookimpl
from mezoo_tim.tim import path_graph_embedding, tim, tim_weights

__version__ = "0.1.0"
__all__ = ["path_graph_embedding", "tim", "tim_weights"]


@hookimpl
def register_interpolators(register):
    register(tim, name="tim")
