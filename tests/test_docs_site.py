"""The documentation site: it builds with warnings as errors (broken links and anchors, missing
references, pages left out of the navigation), its Python examples run on the embedded data, the
example plugin's files it shows are the files the plugin has, and every `mezoo` command line it
shows (and the README's) names a real command and real options."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import click
import pytest

from mezoo.cli import cli

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md"))
FENCED = re.compile(r"^```(\w+)[^\n]*\n(.*?)^```", re.S | re.M)


def python_blocks() -> list[tuple[str, str]]:
    return [(f"{page.name}:{text[:m.start()].count(chr(10)) + 2}", m.group(2)) for page in PAGES
            for text in [page.read_text()] for m in FENCED.finditer(text) if m.group(1) == "python"]


def test_the_site_builds_with_warnings_as_errors(tmp_path):
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                          cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "WARNING" not in done.stderr
    api = (tmp_path / "site" / "api" / "index.html").read_text()
    for documented in ("Resolve and check every setting", "register_features", "FeatureExtractor", "ZooModel"):
        assert documented in api  # the API reference is rendered from the docstrings


def test_every_page_is_in_the_navigation():
    import yaml

    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    listed = {next(iter(entry.values())) for entry in config["nav"]}
    assert listed == {p.name for p in PAGES}


def test_the_plugin_files_shown_are_the_plugin_s_files():
    """A block that starts with `# mezoo_example/<file>.py` shows that file: each of its lines (but the
    `...` that stand for bodies left out) is a line of the file, in order."""
    shown = [(where, code) for where, code in python_blocks() if code.startswith("# mezoo_example/")]
    assert len(shown) >= 4
    for where, code in shown:
        name = code.splitlines()[0][2:].split(":")[0].strip()
        real = (ROOT / "plugins" / "mezoo-example" / name).read_text().splitlines()
        at = 0
        for line in code.splitlines()[1:]:
            if not line.strip() or line.strip().startswith("...") or line.strip().startswith("#"):
                continue
            stripped = line.split("  #")[0].rstrip()
            found = next((i for i in range(at, len(real)) if real[i].split("  #")[0].rstrip() == stripped), None)
            assert found is not None, f"{where}: {line!r} is not in {name} (after line {at})"
            at = found + 1


@pytest.fixture(scope="module")
def material(tmp_path_factory):
    """What the examples name, made from the embedded data: a model directory `models/synthetic`
    (trained small), an onset and apex `onset.jpg`, `apex.jpg`, a folder of frames `clip/` and a
    video `video.mp4` of people the model never saw."""
    import cv2

    from mezoo.data.synthetic import VIDEO_SPAN, SyntheticDataset, write_video
    from mezoo.inference.modeldir import write_model_dir
    from mezoo.inference.train import fit_deployment
    from tests.inference.conftest import small_settings

    root = tmp_path_factory.mktemp("examples")
    settings = small_settings(root / "cache")
    done = fit_deployment(settings, progress=False)
    write_model_dir(root / "models" / "synthetic", settings, done.model, done.classes, done.data, done.seconds)
    people = SyntheticDataset(subjects=2, clips_per_subject=3, seed=1, span=VIDEO_SPAN).samples()
    clip = people[0]
    for name, index in (("onset.jpg", clip.onset), ("apex.jpg", clip.apex)):
        cv2.imwrite(str(root / name), cv2.cvtColor(clip.read_frame(index), cv2.COLOR_RGB2BGR))
    (root / "clip").mkdir()
    for i in range(clip.onset, clip.end + 1):
        cv2.imwrite(str(root / "clip" / f"{i:03d}.jpg"), cv2.cvtColor(clip.read_frame(i), cv2.COLOR_RGB2BGR))
    write_video(root / "video.mp4", people[:1], hold=0.5, settle=0.3)
    return root


def _small(code: str) -> str:
    """An example that trains, made to train in seconds: the same calls on a small copy of the data."""
    small = code.replace('"train": {"epochs": 20}', '"train": {"epochs": 1}, "dataset": {"synthetic": {"subjects": 3, '
                        '"clips_per_subject": 6, "size": 112}}, "face": {"size": 112}, "regions": {"size": 36, '
                        '"full_face_size": 36}, "displacement": {"name": "farneback"}')
    assert "run_loso(" not in code or small != code, "a training example changed: make _small shrink it again"
    return small


def test_the_python_examples_run(material, monkeypatch):
    """Every complete example runs (in a folder holding what it names); skeletons, whose bodies are
    `...`, and the plugin files above compile."""
    monkeypatch.chdir(material)
    monkeypatch.setenv("MEZOO_CACHE_DIR", str(material / "cache"))
    ran = []
    for where, code in python_blocks():
        compiled = compile(code, where, "exec")
        skeleton = re.search(r"^\s*\.\.\.\s*(#.*)?$", code, re.M) or code.startswith("# mezoo_example/")
        if skeleton:
            continue
        exec(compile(_small(code), where, "exec"), {"__name__": "docs_example"})
        ran.append(where)
        del compiled
    assert any(w.startswith("training.md") for w in ran) and any(w.startswith("inference.md") for w in ran)
    assert (material / "results" / "timeline.csv").exists()  # the inference example's v.write("results/")
    assert (material / "runs" / "my-run" / "report.json").exists()  # the training example's run


def command_lines() -> list[tuple[str, str]]:
    """Every `mezoo ...` command line the pages show (in code blocks; comments cut off)."""
    found = []
    for page in [*PAGES, ROOT / "README.md"]:
        code = False
        lines = page.read_text().splitlines()
        for n, line in enumerate(lines, 1):
            if line.startswith("```"):
                code = not code
            if not (code or line.startswith("    ")):
                continue
            while line.rstrip().endswith("\\") and n < len(lines):  # a command continued on the next line
                line = line.rstrip()[:-1] + " " + lines[n].strip()
                n += 1
            for part in re.split(r"&&|\|", line.split("  #")[0]):
                part = part.strip()
                if part.startswith("mezoo "):
                    found.append((f"{page.name}:{n}", part))
    return found


@pytest.mark.parametrize("where, line", command_lines())
def test_every_command_shown_exists_with_its_options(where, line):
    words = shlex.split(line)[1:]
    command: click.Command = cli
    while isinstance(command, click.Group) and words and not words[0].startswith("-"):
        assert words[0] in command.commands, f"{where}: `mezoo {words[0]}` is not a command ({line})"
        command = command.commands[words.pop(0)]
    options = {o for p in command.params for o in (*p.opts, *p.secondary_opts)}
    for word in words:
        if word.startswith("--"):
            name = word.split("=")[0]
            assert name in options, f"{where}: {line!r}: {name} is not an option of this command"


def test_the_command_lines_are_found():
    lines = [line for _, line in command_lines()]
    assert len(lines) > 30 and any(line.startswith("mezoo zoo") for line in lines)
