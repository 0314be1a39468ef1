"""Using a trained model: model directories, ``mezoo train`` and ``mezoo predict``, spotting in videos.

- :mod:`~mezoo.inference.modeldir`: what a model directory holds, written and read with checks;
- :mod:`~mezoo.inference.train`: one model on every subject (``mezoo train``);
- :mod:`~mezoo.inference.predictor`: :func:`load_model` and :class:`Predictor` (pairs, clips, videos);
- :mod:`~mezoo.inference.results` and :mod:`~mezoo.inference.images`: what a prediction is, and the
  images a user gives;
- :mod:`~mezoo.inference.video` (with :mod:`mezoo.face.spotting`): tracking a face through a
  video and finding when it moves and comes back.
"""
