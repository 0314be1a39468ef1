"""The training engine: what LOSO, ``mezoo train`` and ``mezoo predict`` share. It knows no
evaluation protocol (that is :mod:`mezoo.loso`).

- :mod:`~mezoo.engine.setup`: what a run checks before it reads any frame;
- :mod:`~mezoo.engine.frames`: samples -> frames, landmarks and labels in memory;
- :mod:`~mezoo.engine.precompute`: deterministic providers run once per sample, cached;
- :mod:`~mezoo.engine.inputs`: how a model meets its samples (the input path);
- :mod:`~mezoo.engine.loop`: the training loop and prediction;
- :mod:`~mezoo.engine.fit`: one model fitted from the settings (what a LOSO fold and ``mezoo train`` share);
- :mod:`~mezoo.engine.executors` and :mod:`~mezoo.engine.ray_executor`: where jobs run.
"""
