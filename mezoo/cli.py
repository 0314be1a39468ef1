"""The ``mezoo`` command line."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from mezoo import __version__, plugins
from mezoo.errors import MezooError, MezooWarning
from mezoo.face.release_crops import RELEASE_SHAPES
from mezoo.layout import DEFAULT_ABLATION_DIR, DEFAULT_MODEL_DIR, DEFAULT_RUN_DIR, DEFAULT_ZOO_DIR

if TYPE_CHECKING:
    from mezoo.settings import Settings


class _Group(click.Group):
    """Shows mezoo's own errors as one line (``Error: ...``), without a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            try:
                return super().invoke(ctx)
            except MezooError as exc:
                raise click.ClickException(str(exc)) from exc


_default_showwarning = warnings.showwarning


def _show_warning(message: Warning | str, category: type[Warning], *args: Any, **kwargs: Any) -> None:
    """mezoo's own warnings as one ``Warning: ...`` line on stderr; others as Python shows them."""
    if issubclass(category, MezooWarning):
        click.echo(f"Warning: {message}", err=True)
    else:
        _default_showwarning(message, category, *args, **kwargs)


def _options(*options: Any) -> Any:
    """A decorator adding ``options`` to a command, in the order given (how every command declares
    the options it shares with others: each shared option is declared once, below)."""

    def decorate(command: Any) -> Any:
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


#: --dataset, --data-root: commands that read a dataset
_data_options = _options(
    click.option("--dataset", help="Dataset name (default: synthetic, the embedded dataset)."),
    click.option("--data-root", type=click.Path(path_type=Path), help="Folder of the dataset on disk."),
)
#: --config, --set: every command that reads settings
_settings_options = _options(
    click.option("--config", "config_file", type=click.Path(path_type=Path, dir_okay=False),
                 help="YAML file of settings over the defaults."),
    click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
                 help="Override one setting, e.g. --set train.epochs=5 (repeatable)."),
)
_device_option = click.option("--device", help="auto (default), cpu, cuda, cuda:1, ...")
_quiet_option = click.option("--quiet", is_flag=True, help="No progress bars.")
_executor_option = click.option(
    "--executor", help="Where folds run: local (default, this process), ray (pip install \"mezoo[ray]\"; see "
                       "run.ray.* settings), or a plugin's executor.")


def _out_option(default: str, file: bool = False) -> Any:
    """--out: a folder (or, with ``file``, a file) to write, ``default`` said in its help."""
    kind = click.Path(path_type=Path, dir_okay=False) if file else click.Path(path_type=Path, file_okay=False)
    return click.option("--out", type=kind, help=f"Where to write (default: {default}).")


def _training_options(out_default: str) -> Any:
    """The options of commands that train (run, train): data, components, settings, device, --out, --quiet."""
    return _options(
        _data_options,
        click.option("--displacement", help="Displacement provider, e.g. farneback."),
        click.option("--fusion", help="Fusion head, e.g. fu_b_attn."),
        _settings_options, _device_option, _out_option(out_default), _quiet_option,
    )


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="mezoo")
def cli() -> None:
    """mezoo: a plugin-based model zoo for facial micro-expression recognition."""


_protocol_option = click.option(
    "--protocol", type=click.Choice(("loso", "leave_one_database_out", "cross_dataset")),
    help="Evaluation protocol (default loso; cross_dataset takes --set protocol.train=[PART] --set "
         "protocol.test=[PART]); docs/training.md, \"Evaluation protocol\".")

_select_option = click.option(
    "--select", "selects", multiple=True, metavar="KEY=V1,V2,...",
    help="Choose this train setting inside each fold by inner cross-validation over its training subjects, "
         "e.g. --select train.epochs=10,20,40 (repeatable: every combination is tried).")

_seeds_option = click.option(
    "--seeds", help="Train with each of these seeds (e.g. 0,1,2), each a run in OUT/seed-<k>; the report gives every "
                    "seed, the mean +- sd and an interval pooled over them.")


@cli.command()
@_training_options(f"{DEFAULT_RUN_DIR}; the run directory")
@click.option("--features", help="A classical baseline's feature extractor, e.g. lbp_top or bi_woof (with "
                                 "--classifier; instead of the fusion head).")
@click.option("--classifier", help="A classical baseline's classifier (default linear_svm).")
@_executor_option
@_seeds_option
@_protocol_option
@_select_option
def run(dataset: str | None, data_root: Path | None, displacement: str | None, fusion: str | None,
        config_file: Path | None, sets: tuple[str, ...], device: str | None, out: Path | None,
        quiet: bool, features: str | None, classifier: str | None, executor: str | None, seeds: str | None,
        protocol: str | None, selects: tuple[str, ...]) -> None:
    """Leave-one-subject-out training and evaluation; prints a UF1/UAR table with 95 % intervals.

    Running the same settings again resumes: folds already finished are not trained again. With
    --features, the model is a classical baseline: those features and a scikit-learn classifier.
    """
    from mezoo.loso.runner import run_loso
    from mezoo.loso.seeds import parse_seeds, run_seeds

    chosen = parse_seeds(seeds) if seeds is not None else None
    settings = _config(dataset, data_root, displacement, fusion, config_file, sets, device, executor=executor,
                       protocol=protocol, selects=selects, features=features, classifier=classifier)
    if chosen is not None:
        result = run_seeds(settings, chosen, out, progress=not quiet)
    else:
        result = run_loso(settings, out, progress=not quiet)
    if result.skipped:
        click.echo(f"Resumed: {len(result.skipped)} finished fold(s) reused, {len(result.trained)} trained.")
    click.echo(result.markdown)
    click.echo(f"Run directory: {result.run_dir}")


@cli.command()
@_training_options(f"{DEFAULT_MODEL_DIR}; the model directory")
def train(dataset: str | None, data_root: Path | None, displacement: str | None, fusion: str | None,
          config_file: Path | None, sets: tuple[str, ...], device: str | None, out: Path | None, quiet: bool) -> None:
    """Train one model on every subject of a dataset (the model to use on new faces) and write a
    model directory for `mezoo predict --model`.

    Same settings as `mezoo run`; LOSO measures how well they generalise, this trains the model to deploy.
    """
    from mezoo.inference.train import train_model

    settings = _config(dataset, data_root, displacement, fusion, config_file, sets, device)
    path = train_model(settings, out, progress=not quiet)
    info = json.loads((path / "model.json").read_text())
    data = info["data"]
    counts = ", ".join(f"{c} {n}" for c, n in data["classes"].items())
    click.echo(f"Trained {settings.displacement.name} + {settings.fusion.name} on {data['samples']} samples of "
               f"{data['subjects']} subjects of {data['dataset']} ({counts}) in {info['train_seconds']:.0f} s.")
    click.echo(f"Model directory: {path}")
    click.echo(f"Use it: mezoo predict --model {path} ONSET APEX | CLIP_FOLDER | VIDEO")


@cli.command()
@click.option("--model", "model_dir", required=True, type=click.Path(path_type=Path),
              help="A model directory (mezoo train) or a LOSO run directory with checkpoints (a fold ensemble).")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path), metavar="INPUTS...")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
@click.option("--apex", type=int, help="Clip: the apex's index among its frames (default: spotted).")
@click.option("--apex-spotter", default="motion_energy", show_default=True, help="Clip: the apex spotter to use.")
@click.option("--start", type=float, help="Video: start at this second.")
@click.option("--end", type=float, help="Video: stop at this second.")
@click.option("--every", type=click.IntRange(min=1), help="Video: detect the face every N frames (default: fps / 5).")
@click.option("--lag", type=click.FloatRange(min=0, min_open=True), default=0.2, show_default=True,
              help="Video: seconds from onset to apex (and apex to offset) of the spotting window.")
@click.option("--z", type=click.FloatRange(min=0), default=6.0, show_default=True,
              help="Video: spot where the motion is this many robust standard deviations above its median.")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False),
              help="Video: folder for timeline.csv, timeline.json and motion.png (default: <video name>-mezoo).")
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda, cuda:1, ...")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def predict(model_dir: Path, paths: tuple[Path, ...], as_json: bool, apex: int | None, apex_spotter: str,
            start: float | None, end: float | None, every: int | None, lag: float, z: float, out: Path | None,
            device: str, quiet: bool) -> None:
    """Classify micro-expressions with a trained model.

    \b
    INPUTS is one of:
      ONSET APEX    two image files: the class of the expression between them;
      CLIP_FOLDER   a folder of frames, onset first: the apex is spotted, then classified;
      VIDEO         a video file: micro-expressions spotted (onset, apex, offset) and classified,
                    written as a timeline (CSV, JSON) and a plot of the motion.
    """
    from mezoo.data.native import IMAGE_SUFFIXES
    from mezoo.errors import DataError
    from mezoo.inference.predictor import load_model

    if len(paths) > 2:
        raise click.UsageError("give ONSET APEX (two images), a CLIP_FOLDER or a VIDEO; got "
                               f"{len(paths)} inputs (for a clip, put its frames in one folder)")
    for path in paths:
        if not path.exists():
            raise DataError(f"{path} does not exist")
    if len(paths) == 1 and paths[0].is_file() and paths[0].suffix.lower() in IMAGE_SUFFIXES:
        raise click.UsageError(f"{paths[0]} is one image; give the ONSET and the APEX image, a clip folder or a video")
    model = load_model(model_dir, device)
    if len(paths) == 2 or paths[0].is_dir():
        if len(paths) == 2:
            prediction = model.predict_pair(*paths)
            what = f"{paths[0]} -> {paths[1]}"
        else:
            prediction = model.predict_clip(paths[0], apex, apex_spotter)
            how = "given" if apex is not None else f"spotted by {apex_spotter}"
            what = f"{paths[0]}: apex at frame {prediction.apex} of 0..{prediction.offset} ({how})"
        if as_json:
            click.echo(json.dumps({"input": [str(p) for p in paths], **prediction.as_dict()}, indent=2))
        else:
            click.echo(prediction.markdown(what))
        return
    video = model.predict_video(paths[0], start=start, end=end, every=every, lag=lag, z=z, progress=not quiet)
    written = video.write(out or Path(f"{paths[0].stem}-mezoo"))
    if as_json:
        click.echo(json.dumps(video.as_dict(), indent=2))
        return
    click.echo(video.markdown())
    click.echo(f"Wrote {written['csv']}, {written['json'].name}, {written['plot'].name}")


@cli.command()
@click.argument("runs", nargs=-1, required=True, type=click.Path(path_type=Path, file_okay=False))
@click.option("--resamples", type=click.IntRange(min=100), default=1000, show_default=True,
              help="Bootstrap resamples and permutations.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the resampling (the numbers reproduce).")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=Path("compare.png"),
              show_default=True, help="Forest plot to write (PNG).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of the table.")
def compare(runs: tuple[Path, ...], resamples: int, seed: int, out: Path, as_json: bool) -> None:
    """Compare finished runs on the same samples, pairwise: difference in UF1 and UAR (second minus
    first, in the order given) with a paired subject-bootstrap interval and a permutation p-value,
    on all samples and per dataset part, and a forest plot."""
    from mezoo.figures import forest_figure
    from mezoo.loso.compare import compare_runs, comparison_markdown

    if len(runs) < 2:
        raise click.UsageError("give at least two run directories to compare")
    rows = compare_runs(runs, resamples, seed)
    written = forest_figure(rows, out)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    click.echo(comparison_markdown(rows), nl=False)
    click.echo(f"Wrote {written}")


@cli.command(name="synthetic-video")
@click.argument("out", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--seed", type=int, default=1, show_default=True,
              help="Seed of the synthetic faces (the default dataset's is 0: seed 1 draws people it never saw).")
@click.option("--subject", type=click.IntRange(min=0), default=0, show_default=True, help="Which person.")
@click.option("--clips", type=click.IntRange(min=1), default=3, show_default=True, help="How many of their clips.")
@click.option("--fps", type=click.FloatRange(min=1), default=30.0, show_default=True, help="Frames per second.")
@click.option("--hold", type=click.FloatRange(min=0), default=1.5, show_default=True,
              help="Seconds of still face before and after each clip.")
def synthetic_video(out: Path, seed: int, subject: int, clips: int, fps: float, hold: float) -> None:
    """Render synthetic clips into a 640 x 480 video (MP4) to try `mezoo predict` on; writes OUT and,
    beside it, OUT.json with where each clip's onset, apex and offset are."""
    from mezoo.data.synthetic import VIDEO_SPAN, SyntheticDataset, write_video
    from mezoo.files import write_atomic

    samples = SyntheticDataset(subjects=subject + 2, clips_per_subject=max(clips, 3), seed=seed,
                               span=VIDEO_SPAN).samples()
    chosen = [s for s in samples if s.subject == f"s{subject:02d}"][:clips]
    truth = write_video(out, chosen, fps=fps, hold=hold)
    write_atomic(out.with_name(out.name + ".json"), json.dumps({"fps": fps, "clips": truth}, indent=2))
    click.echo("| clip | class | onset | apex | offset |\n|---|---|---:|---:|---:|")
    for t in truth:
        click.echo(f"| {t['key']} | {t['label']} | {t['onset']} | {t['apex']} | {t['offset']} |")
    click.echo(f"Wrote {out} and {out.name}.json")


@cli.command()
@click.option("--rows", help="Comma-separated rows of the paper's Table 2, e.g. M0,M4,M9, and M0-TVL1 (M0 with "
                             "TV-L1 flow) (default: all).")
@_data_options
@_settings_options
@_device_option
@_out_option(f"{DEFAULT_ABLATION_DIR}; the folder of the row runs")
@_quiet_option
@_executor_option
@_seeds_option
@_protocol_option
@_select_option
def ablate(rows: str | None, dataset: str | None, data_root: Path | None, config_file: Path | None,
           sets: tuple[str, ...], device: str | None, out: Path | None, quiet: bool, executor: str | None,
           seeds: str | None, protocol: str | None, selects: tuple[str, ...]) -> None:
    """Run the ablation rows M0-M9 of the paper's Table 2 (and M0-TVL1, M0 with TV-L1 flow) and write
    the table with this run's numbers.

    Each row is a LOSO run in OUT/<row> (with --seeds, one per seed in OUT/<row>/seed-<k>); running
    again resumes finished rows and folds. The folds of every row go to one executor (with
    --executor ray, one pool).
    """
    from mezoo.layout import default_ablation_dir
    from mezoo.loso.ablate import ablation_table, parse_rows, run_ablation
    from mezoo.loso.seeds import parse_seeds

    chosen = parse_rows(rows)
    chosen_seeds = parse_seeds(seeds) if seeds is not None else None
    settings = _config(dataset, data_root, None, None, config_file, sets, device, executor=executor,
                       protocol=protocol, selects=selects)
    out = out or default_ablation_dir(settings)

    results = run_ablation(settings, chosen, out, progress=not quiet, on_row=_echo_row, seeds=chosen_seeds)
    click.echo(ablation_table(results))
    click.echo(f"Ablation table: {out / 'ablation.md'}")


@cli.command()
@click.option("--models", help="Comma-separated zoo models, e.g. ststnet,lbp_top (default: every registered one; "
                               "see --list).")
@click.option("--list", "list_models", is_flag=True, help="List the registered models and exit.")
@_data_options
@_settings_options
@_device_option
@_out_option(f"{DEFAULT_ZOO_DIR}; the folder of the models' runs")
@_quiet_option
@_executor_option
@_seeds_option
@_protocol_option
def zoo(models: str | None, list_models: bool, dataset: str | None, data_root: Path | None,
        config_file: Path | None, sets: tuple[str, ...], device: str | None, out: Path | None, quiet: bool,
        executor: str | None, seeds: str | None, protocol: str | None) -> None:
    """Run every registered model of the zoo (FRL-DGT, STSTNet, Off-ApexNet, LBP-TOP, Bi-WOOF and
    plugins' models) on one dataset under one protocol, and print a table like the FRL-DGT paper's
    Table 1 with each model's published composite numbers beside this run's.

    Each model is a LOSO run in OUT/<model> (with --seeds, one per seed); running again resumes
    finished models and folds. The folds of every model go to one executor (--executor ray: one pool).
    """
    from mezoo.layout import default_zoo_dir
    from mezoo.loso.seeds import parse_seeds
    from mezoo.loso.zoo import run_zoo, zoo_table
    from mezoo.zoo import models as registered, parse_models

    if list_models:
        click.echo("| model | title | paper | published UF1 / UAR |\n|---|---|---|---|")
        for name, model in registered().items():
            published = f"{model.published['uf1']:.3f} / {model.published['uar']:.3f}" if model.published else "-"
            click.echo(f"| {name} | {model.title} | {model.paper or '-'} | {published} |")
        return
    chosen = parse_models(models)
    chosen_seeds = parse_seeds(seeds) if seeds is not None else None
    settings = _config(dataset, data_root, None, None, config_file, sets, device, executor=executor,
                       protocol=protocol)
    out = out or default_zoo_dir(settings)

    results = run_zoo(settings, chosen, out, progress=not quiet, on_model=_echo_row, seeds=chosen_seeds)
    click.echo(zoo_table(results))
    click.echo(f"Zoo table: {out / 'zoo.md'}")


def _echo_row(name: str, result: Any) -> None:
    """One line as each row of a grid (an ablation row, a zoo model) finishes."""
    full = result.report["full"]
    click.echo(f"{name}: UF1 {full['uf1']:.3f}, UAR {full['uar']:.3f} ({result.run_dir})")


def _config(dataset: str | None, data_root: Path | None, displacement: str | None, fusion: str | None,
            config_file: Path | None, sets: tuple[str, ...], device: str | None,
            components: bool = True, executor: str | None = None, protocol: str | None = None,
            selects: tuple[str, ...] = (), features: str | None = None, classifier: str | None = None) -> Settings:
    """The command's settings (:func:`mezoo.settings.load_settings`); every key, value and component
    name is checked here, before any work.

    ``components=False``: without the displacement provider's and fusion head's own defaults, for
    commands that only read the dataset (importing the model code to read them costs seconds).
    """
    import dataclasses

    from mezoo.config import merge, parse_set
    from mezoo.settings import SelectSettings, load_settings

    overrides: dict[str, Any] = {}
    for section, value in (("dataset", dataset), ("displacement", displacement), ("fusion", fusion),
                           ("features", features), ("classifier", classifier)):
        if value:
            overrides[section] = {"name": plugins.normalize_name(value)}
    if data_root is not None:
        overrides = merge(overrides, {"dataset": {"root": str(data_root)}})
    if device:
        overrides = merge(overrides, {"run": {"device": device}})
    if executor:
        overrides = merge(overrides, {"run": {"executor": plugins.normalize_name(executor)}})
    if protocol:
        overrides = merge(overrides, {"protocol": {"name": protocol}})
    selectable = [f"train.{f.name}" for f in dataclasses.fields(SelectSettings)]
    for select in selects:
        key, _, values = select.partition("=")
        if not values.strip() or key.strip() not in selectable:
            raise click.BadParameter(f"{select!r}: give KEY=V1,V2,... with KEY one of {', '.join(selectable)}, "
                                     f"e.g. train.epochs=10,20,40", param_hint="--select")
        overrides = merge(overrides, {"protocol": {"select": {key.strip().removeprefix("train."): values.strip()}}})
    return load_settings(config_file, merge(overrides, parse_set(sets)), components=components)


@cli.group()
def figure() -> None:
    """Draw figures like the paper's."""


@figure.command(name="displacements")
@_data_options
@click.option("--sample", "sample_keys", multiple=True, metavar="KEY",
              help="A sample key (dataset/subject/episode); repeatable. Default: the first of each class.")
@click.option("--dgm-steps", type=int, help="Self-supervised steps for the DGM column (default: its warmup_steps).")
@_settings_options
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=Path("displacements.png"),
              show_default=True, help="PNG to write.")
def figure_displacements(dataset: str | None, data_root: Path | None, sample_keys: tuple[str, ...],
                         dgm_steps: int | None, config_file: Path | None, sets: tuple[str, ...], out: Path) -> None:
    """Onset, apex, dynamic image, optical flow and DGM output side by side (paper Fig. 3).

    The DGM column comes from a DGM fitted self-supervised on the dataset's frame pairs (no labels).
    """
    from mezoo.figures import displacement_figure
    from mezoo.motion import displacement_panels

    settings = _config(dataset, data_root, None, None, config_file, sets, None)
    panels = displacement_panels(settings, sample_keys, dgm_steps)
    click.echo(panels.dgm)
    click.echo(f"Wrote {displacement_figure(panels.rows, out)}")


@cli.group()
def datasets() -> None:
    """Inspect datasets."""


@datasets.command(name="list")
def datasets_list() -> None:
    """The registered datasets."""
    for name in plugins.names("dataset"):
        click.echo(name)


@datasets.command(name="info")
@_data_options
@_settings_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def datasets_info(dataset: str | None, data_root: Path | None, config_file: Path | None, sets: tuple[str, ...],
                  as_json: bool) -> None:
    """Samples, subjects and class counts per part; warns where MEGC2019's counts differ."""
    from mezoo.data.info import describe, table
    from mezoo.data.registry import make_dataset

    settings = _config(dataset, data_root, None, None, config_file, sets, None, components=False)
    info = describe(make_dataset(settings.dataset), settings.dataset.name)
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    click.echo(table(info))
    for note in info["notes"]:
        click.echo(f"Note: {note}")
    for difference in info["differences"]:
        click.echo(f"Warning: {difference}", err=True)


@cli.command(name="prepare")
@_data_options
@_settings_options
@click.option("--all-frames", is_flag=True,
              help="Calibrate every frame from onset to offset (for sequence providers), not only the onset, "
                   "the apex and its apex-jitter neighbours.")
def prepare_command(dataset: str | None, data_root: Path | None, config_file: Path | None, sets: tuple[str, ...],
                    all_frames: bool) -> None:
    """Fill the preprocessing cache: faces found, landmarks fitted and frames calibrated, once.

    Prints per dataset how many clips had their face detected, needed a fallback (padded
    edges, or the whole image as the face box) or failed, how many onsets held several faces
    (the largest is used), the median eye-line angle after calibration, the median fraction
    of the canvas that comes from the source image, and the median and lowest share of recorded
    pixels in each clip's worst AU box; lists the failures and the clips whose worst box is under
    85 % recorded, and exits with status 1 when no clip at all had a face. Interrupt it at any
    time: what is cached stays cached.
    """
    from mezoo.data.faces import LOW_RECORDED, FaceReader, prepare_faces
    from mezoo.data.registry import make_dataset

    settings = _config(dataset, data_root, None, None, config_file, sets, None)
    samples = make_dataset(settings.dataset).samples()
    reader = FaceReader.from_settings(settings.face, settings.run.cache_dir)
    frames = prepare_faces(samples, reader, settings.train.apex_jitter, all_frames)
    click.echo("| dataset | clips | detected | fallback: padded | fallback: whole image | failed | known landmarks "
               "| several faces | median eye angle (deg) | median valid canvas | worst AU box recorded: median "
               "| worst AU box recorded: lowest |")
    click.echo("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    summary = reader.summary()
    for row in summary:
        click.echo(f"| {row['dataset']} | {row['clips']} | {row['detected']} | {row['padded']} | {row['whole_image']} "
                   f"| {row['failed']} | {row['known']} | {row['several_faces']} | {row['eye_angle']:.2f} "
                   f"| {row['valid']:.1%} | {row['worst_box']:.1%} | {row['lowest_box']:.1%} |")
    click.echo(f"{frames} calibrated frames in {reader.cache.root if reader.cache else 'memory'}")
    for key, path in reader.failures:
        click.echo(f"No face: {key} ({path})", err=True)
    for sample, box, share in reader.low:
        click.echo(f"Little recorded: {sample.key}: AU box {box} is {share:.0%} on recorded pixels (under "
                   f"{LOW_RECORDED:.0%}): its frames cut into the face; check the onset frame "
                   f"{sample.frames[sample.onset] if sample.frames else ''} (`mezoo figure regions --dataset "
                   f"{sample.dataset} --sample {sample.key}` draws it), or leave the clip out with "
                   f"{sample.exclude_hint}", err=True)
    if samples and all(row["failed"] == row["clips"] for row in summary):
        raise click.ClickException(f"no face was found in any of the {len(samples)} clips; check the frames, "
                                   f"the data root and face.predictor")


@figure.command(name="regions")
@click.option("--image", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="A face photo (default: the astronaut photo scikit-image ships, if installed).")
@click.option("--dataset", help="Draw on a dataset sample's onset frame instead (with --sample).")
@click.option("--data-root", type=click.Path(path_type=Path), help="Folder of the dataset on disk.")
@click.option("--sample", "sample_key", metavar="KEY", help="Sample key dataset/subject/episode (default: the first).")
@click.option("--crop", type=click.Choice(RELEASE_SHAPES),
              help="Cut the photo first the way a release cuts its faces (docs/face-pipeline.md).")
@click.option("--tilt", type=float, default=0.0, show_default=True,
              help="With --crop: turn the head by this many degrees before the cut.")
@_settings_options
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=Path("regions.png"),
              show_default=True, help="PNG to write.")
def figure_regions(image: Path | None, dataset: str | None, data_root: Path | None, sample_key: str | None,
                   crop: str | None, tilt: float, config_file: Path | None, sets: tuple[str, ...], out: Path) -> None:
    """The 9 AU regions and the 3x3 grid on a calibrated face (paper Fig. 4)."""
    from mezoo.figures import regions_figure, regions_of

    settings = _config(dataset, data_root, None, None, config_file, sets, None)
    photo, title = (None, "") if dataset or data_root else _photo(image)
    if crop and photo is None:
        raise click.UsageError("--crop cuts a photo (--image); a dataset's frames are used as its release cut them")
    if crop:
        photo, title = _release_crop(settings, photo, title, crop, tilt)
    shown = regions_of(settings, photo, title, sample_key)
    found = shown.calibration.describe()
    click.echo(f"{shown.title}: {found}")
    written = regions_figure(shown.face, shown.seen, shown.panels, out, shown.title + "\n" + found,
                             shown.calibration.mask)
    click.echo(f"Wrote {written}")


def _release_crop(settings: Any, photo: Any, title: str, shape: str, tilt: float) -> tuple[Any, str]:
    """``photo`` cut as release ``shape`` with the head turned by ``tilt`` degrees, and its title."""
    from mezoo.data.faces import FaceReader
    from mezoo.face.release_crops import release_crop

    whole = FaceReader.from_settings(settings.face, cache=False).calibrate(photo, title)
    cut, _ = release_crop(photo, whole.raw, shape, tilt)
    return cut, f"{title}, cut as {shape}" + (f", head turned {tilt:+g} deg" if tilt else "")


def _photo(image: Path | None) -> tuple[Any, str]:
    """The photo ``--image`` names (default: scikit-image's astronaut) as RGB, and its title."""
    import cv2

    if image is None:
        try:
            from skimage import data
        except ImportError:
            raise click.UsageError("give a face photo with --image (scikit-image, whose sample photo is the "
                                   "default, is not installed)") from None
        return data.astronaut(), "scikit-image astronaut"
    bgr = cv2.imread(str(image), cv2.IMREAD_COLOR)
    if bgr is None:
        raise click.BadParameter(f"{image} cannot be decoded as an image", param_hint="--image")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), image.name


@cli.command(name="bench")
@click.option("--cases", "pattern", default="*", show_default=True,
              help="Which cases, a glob over their names (fusion-*, dgm-*, model-b32, end-to-end).")
@click.option("--device", "device_name", type=click.Choice(["all", "cpu", "cuda"]), default="all", show_default=True,
              help="all: CPU, and CUDA when torch sees it.")
@click.option("--variants", default="fp32", show_default=True,
              help="Comma-separated: fp32, bf16, compile (the last two on CUDA only).")
@click.option("--min-time", type=float, default=8.0, show_default=True,
              help="Seconds of timed calls per case (at least 5 calls); below ~8 s the Fu-B / Fu-A ratio drifts by "
                   "several percent on a 2-core machine.")
@click.option("--json", "json_out", type=click.Path(path_type=Path, dir_okay=False), help="Also write the timings here.")
def bench_command(pattern: str, device_name: str, variants: str, min_time: float, json_out: Path | None) -> None:
    """Time the benchmark cases (the ones `pytest benchmarks/` runs) and print a table with the
    Fu-B / Fu-A fusion latency ratio."""
    import dataclasses
    import fnmatch
    import platform

    import torch

    from mezoo import bench
    from mezoo.errors import ConfigError

    cases = tuple(c for c in bench.CASES if fnmatch.fnmatch(c.name, pattern))
    if not cases:
        raise ConfigError(f"no benchmark case matches {pattern!r}; cases: {', '.join(c.name for c in bench.CASES)}")
    chosen = [v.strip() for v in variants.split(",") if v.strip()]
    unknown = [v for v in chosen if v not in bench.VARIANTS]
    if unknown:
        raise ConfigError(f"unknown variant {', '.join(unknown)}; expected: {', '.join(bench.VARIANTS)}")
    if device_name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda: torch sees no CUDA device")
    devices = bench.devices() if device_name == "all" else [torch.device(device_name)]
    machine = f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"
    if torch.cuda.is_available():
        machine += f", {torch.cuda.get_device_name()}"
    click.echo(f"torch {torch.__version__}; {machine}")
    click.echo("| case | device | variant | median ms | IQR ms | rounds |\n|---|---|---|---:|---:|---:|")
    timings = []
    for t in bench.run(cases, devices, tuple(chosen), min_time):
        timings.append(t)
        click.echo(f"| {t.case} | {t.device} | {t.variant} | {t.median_ms:.2f} | {t.iqr_ms:.2f} | {t.rounds} |")
    for batch, device, variant, ratio in bench.ratios(timings):
        verdict = "meets" if ratio <= 0.85 else "misses"
        click.echo(f"Fu-B / Fu-A whole fusion, {batch}, {device} {variant}: {ratio:.3f} "
                   f"({verdict} the 0.85 target; paper: 47.6 / 50.8 = 0.937)")
    if json_out:
        json_out.write_text(json.dumps({"machine": machine, "torch": torch.__version__,
                                        "timings": [dataclasses.asdict(t) for t in timings]}, indent=2))


@cli.command(name="motion-accuracy")
@click.option("--dataset", default="synthetic", show_default=True,
              help="A dataset that knows its true motion: synthetic or photo_motion.")
@click.option("--providers", help="Comma-separated displacement providers (default: every registered one).")
@click.option("--samples", "limit", type=int, help="Measure the first N samples only (default: all).")
@click.option("--finetune-steps", type=int, default=0, show_default=True,
              help="Also the DGM from its weights after N self-supervised steps at displacement.dgm.finetune_lr (> 0).")
@_settings_options
@click.option("--json", "json_out", type=click.Path(path_type=Path, dir_okay=False), help="Also write the rows here.")
def motion_accuracy_command(dataset: str, providers: str | None, limit: int | None, finetune_steps: int,
                            config_file: Path | None, sets: tuple[str, ...], json_out: Path | None) -> None:
    """Measure each displacement provider against the true onset -> apex motion of a dataset that
    knows it (synthetic: drawn faces; photo_motion: real faces): end-point and angular error on the
    face and in the AU boxes, face / background magnitude."""
    from mezoo import motion

    settings = _config(dataset, None, "dgm", None, config_file, sets, None)
    chosen = [plugins.normalize_name(p.strip()) for p in providers.split(",") if p.strip()] if providers else None
    rows = motion.measure(settings, limit, chosen, finetune_steps=finetune_steps)
    click.echo(motion.table(rows))
    if json_out:
        json_out.write_text(json.dumps([r.as_dict() for r in rows], indent=2))


@cli.command(name="plugins")
@click.option("--all", "include_all", is_flag=True, help="Include the built-in plugins.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def plugins_command(include_all: bool, as_json: bool) -> None:
    """List installed plugins with their distribution, version and registered components."""
    infos = plugins.plugin_info(include_builtin=include_all)
    if as_json:
        click.echo(json.dumps(infos, indent=2))
        return
    if not infos:
        click.echo("No plugins installed (use --all to list the built-ins).")
        return
    for info in infos:
        origin = f"{info['distribution']} {info['version']}" if info["distribution"] else "not from a distribution"
        kind = "built-in" if info["builtin"] else origin
        click.echo(f"{info['name']}  ({kind})")
        for component_kind, names in info["components"].items():
            click.echo(f"    {component_kind}: {', '.join(names)}")
