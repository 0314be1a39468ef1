"""Using a trained model: model directories, ``mezoo train`` and ``mezoo predict``, spotting in videos.

- :mod:`~mezoo.inference.modeldir`: what a model directory holds, written and read with checks;
- :mod:`~mezoo.inference.train`: one model on every subject (``mezoo train``);
- :mod:`~mezoo.inference.predictor`: :func:`load_model` and :class:`Predictor` (pairs, clips, videos);
- :mod:`~mezoo.inference.video` and :mod:`~mezoo.inference.spotting`: tracking a face through a
  video and finding when it moves and comes back.
"""
