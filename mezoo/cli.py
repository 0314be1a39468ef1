"""The ``mezoo`` command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from mezoo import __version__, plugins
from mezoo.errors import MezooError


class _Group(click.Group):
    """Shows mezoo's own errors as one line (``Error: ...``), without a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MezooError as exc:
            raise click.ClickException(str(exc)) from exc


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="mezoo")
def cli() -> None:
    """mezoo: a plugin-based model zoo for facial micro-expression recognition."""


@cli.command()
@click.option("--dataset", help="Dataset name (default: synthetic, the embedded dataset).")
@click.option("--data-root", type=click.Path(path_type=Path), help="Folder of the dataset on disk.")
@click.option("--displacement", help="Displacement provider, e.g. farneback.")
@click.option("--fusion", help="Fusion head, e.g. fu_b_attn.")
@click.option("--config", "config_file", type=click.Path(path_type=Path, dir_okay=False),
              help="YAML file of settings over the defaults.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help="Override one setting, e.g. --set train.epochs=5 (repeatable).")
@click.option("--device", help="auto (default), cpu, cuda, cuda:1, ...")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False),
              help="Run directory (default: runs/<dataset>-<displacement>-<fusion>-<fingerprint>).")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def run(dataset: str | None, data_root: Path | None, displacement: str | None, fusion: str | None,
        config_file: Path | None, sets: tuple[str, ...], device: str | None, out: Path | None,
        quiet: bool) -> None:
    """Leave-one-subject-out training and evaluation; prints a UF1/UAR table.

    Running the same settings again resumes: folds already finished are not trained again.
    """
    from mezoo.config import merge, parse_set, resolve
    from mezoo.loso.runner import default_run_dir, run_loso

    overrides: dict[str, Any] = {}
    for section, value in (("dataset", dataset), ("displacement", displacement), ("fusion", fusion)):
        if value:
            overrides[section] = {"name": plugins.normalize_name(value)}
    if data_root is not None:
        overrides = merge(overrides, {"dataset": {"root": str(data_root)}})
    if device:
        overrides = merge(overrides, {"run": {"device": device}})
    overrides = merge(overrides, parse_set(sets))
    first = resolve(config_file, overrides)
    # Fail on unknown names before any work starts.
    dataset_cls = plugins.get("dataset", first["dataset"]["name"])
    plugins.get("displacement", first["displacement"]["name"])
    plugins.get("fusion", first["fusion"]["name"])
    config = resolve(config_file, overrides, getattr(dataset_cls, "config_defaults", None))
    run_dir = out or (Path(config["run"]["out"]) if config["run"].get("out") else default_run_dir(config))
    result = run_loso(config, run_dir, progress=not quiet)
    if result.skipped:
        click.echo(f"Resumed: {len(result.skipped)} finished fold(s) reused, {len(result.trained)} trained.")
    click.echo(result.markdown)
    click.echo(f"Run directory: {result.run_dir}")


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
