"""The hook specifications: what a mezoo plugin can implement.

A plugin is any module or object with functions decorated by :data:`hookimpl`. Collector hooks
receive a ``register`` callable; call it once per component::

    from mezoo import hookimpl

    @hookimpl
    def register_fusions(register):
        register(MyFusion, name="my_fusion")

Instead of the object, ``register`` takes its import path, ``"package.module:Attribute"``: the
module is imported only when the component is used, so ``mezoo plugins``, ``mezoo --help`` and
``mezoo datasets list`` stay fast (the built-ins register this way, and their hook modules import
nothing heavy)::

    @hookimpl
    def register_fusions(register):
        register("my_package.heads:MyFusion", name="my_fusion")
"""

import pluggy

hookspec = pluggy.HookspecMarker("mezoo")
hookimpl = pluggy.HookimplMarker("mezoo")


@hookspec
def register_displacements(register):
    """Register displacement providers.

    Call ``register(cls, name="...")`` for each. ``cls`` is a subclass of
    :class:`mezoo.displacement.DisplacementProvider`: constructed with the keyword options of the
    ``displacement`` config section, it maps aligned onset and apex frames ``(B, C, H, W)`` to a
    displacement ``D`` of shape ``(B, 2, H, W)`` (x then y, in pixels unless it says otherwise).
    """


@hookspec
def register_fusions(register):
    """Register fusion heads.

    Call ``register(cls, name="...")`` for each. ``cls`` is a subclass of
    :class:`mezoo.fusion.FusionHead`: constructed with ``in_channels``, ``num_classes``,
    ``num_regions``, ``region_size``, ``face_size`` and the keyword options of the ``fusion`` config
    section, it maps region crops ``(B, K, M, R, R)`` and the full face ``(B, M, S, S)`` to logits
    ``(B, num_classes)``. A sequence head (``sequence = True``; FRL-DGT-S) also gets ``num_steps``
    and inputs with a time axis, ``(B, T-1, K, M, R, R)`` and ``(B, T-1, M, S, S)``.
    """


@hookspec
def register_datasets(register):
    """Register datasets.

    Call ``register(cls, name="...")`` for each. ``cls`` is a subclass of
    :class:`mezoo.data.Dataset`: constructed with ``root`` (a path or ``None``) and the keyword
    options of the ``dataset`` config section, its ``samples()`` returns a list of
    :class:`mezoo.data.Sample`.
    """


@hookspec
def register_augmentations(register):
    """Register training augmentations.

    Call ``register(cls, name="...")`` for each. ``cls`` is a subclass of
    :class:`mezoo.augment.Augmentation`, built with the keyword options of its section under
    ``augmentation`` in the config and applied to training batches when its name is listed in
    ``train.augmentations``.
    """


@hookspec
def register_apex_spotters(register):
    """Register apex spotters: rules that pick the apex of a clip whose apex is not annotated.

    Call ``register(fn, name="...")`` for each. ``fn(sample)`` gets a :class:`mezoo.data.Sample`
    (frames readable with ``sample.read_frame(i)``; ``onset`` and ``offset`` set) and returns the
    apex as a 0-based frame index inside the clip. SMIC uses one (``dataset.smic.apex``); the
    built-ins are ``middle`` (the middle frame, the default), ``max_difference`` and ``motion_energy``.
    """


@hookspec
def register_interpolators(register):
    """Register temporal interpolators: resample a clip to a fixed number of frames.

    Call ``register(fn, name="...")`` for each. ``fn(frames, length)`` gets ``(n, H, W, C)``
    frames (n >= 2, any numeric dtype) and returns ``(length, H, W, C)`` float32 frames spanning
    the same time, first to last (see :mod:`mezoo.data.interpolate`). The built-in is
    ``linear``; sequence models such as FRL-DGT-S pick one by name (the ``mezoo-tim`` plugin adds
    ``tim``).
    """


@hookspec
def register_executors(register):
    """Register executors: where the fold jobs of a LOSO run (and of every ablation row) run.

    Call ``register(cls, name="...")`` for each; ``run.executor`` (``--executor``) picks one by
    name. ``cls`` is a subclass of :class:`mezoo.engine.executors.Executor`: constructed with the
    run's :class:`mezoo.settings.Settings`, its ``map(job, context, tasks)`` calls
    ``job(context, task)`` for every task (the ``context`` shipped once) and yields an
    :class:`mezoo.engine.executors.Outcome` per task as each finishes. The built-ins are ``local``
    (in this process, the default) and ``ray`` (each fold a Ray task).
    """


@hookspec
def register_features(register):
    """Register feature extractors: the first half of a classical model (``features.name``).

    Call ``register(cls, name="...")`` for each. ``cls`` is a subclass of
    :class:`mezoo.classical.FeatureExtractor`: constructed with the keyword options of its section
    under ``features``, it maps one sample (the onset, apex and the chosen provider's displacement,
    or the whole clip resampled to ``sequence.length`` frames, as its ``reads`` says) to a feature
    vector. The built-ins are ``lbp_top`` and ``bi_woof``.
    """


@hookspec
def register_classifiers(register):
    """Register classifiers: the second half of a classical model (``classifier.name``).

    Call ``register(cls, name="...")`` for each. ``cls`` is a subclass of
    :class:`mezoo.classical.Classifier`: constructed with the keyword options of its section under
    ``classifier``, its ``build(class_weight, seed)`` returns an unfitted scikit-learn estimator,
    fitted on each fold's training samples' features. The built-in is ``linear_svm``.
    """


@hookspec
def register_models(register):
    """Register models of the zoo: named settings that ``mezoo zoo`` runs side by side.

    Call ``register(model, name="...")`` for each. ``model`` is a :class:`mezoo.zoo.ZooModel`: its
    title, the settings it changes (components and their options, as ``--set`` would), the paper
    and its published composite numbers, and how those numbers were selected. The built-ins are
    ``frl_dgt``, ``ststnet``, ``off_apexnet``, ``lbp_top`` and ``bi_woof``.
    """
