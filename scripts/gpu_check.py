"""One command for a CUDA machine: check mezoo's GPU path end to end and time it, in under 5 minutes.

Two modes:

    python scripts/gpu_check.py prepare [--skip NAME,...]   # where pip reaches the package index
    python scripts/gpu_check.py run [--out DIR]              # on the CUDA machine, with the checkout

``prepare`` downloads, into ``.whl/`` beside this checkout (git ignores it), a wheel of each of
mezoo's runtime dependencies and theirs, for the CUDA machine's Python (``--python-version``,
default 3.12) on x86-64 Linux, at the versions ``constraints.txt`` pins where it pins one; torch,
torchvision and their CUDA libraries are left out (the CUDA machine has its own build). ``--skip``
leaves out packages that machine already has, to keep the folder small.

``run`` needs only Python with a CUDA build of torch, the checkout and its ``.whl/``; no network
and nothing installed beforehand. It

1. installs, from ``.whl/`` (``pip --no-index``), every wheel whose distribution is not installed
   already, into ``--site`` (default ``/tmp/mezoo-site``), and puts that and the checkout on the
   import path (mezoo itself is not installed: it runs from the checkout);
2. trains a tiny LOSO on ``--device`` (3 synthetic subjects, the DGM trained along with the head:
   the provider's training, the trainer and the prediction on the GPU), with checkpoints;
3. loads that run as a fold ensemble on the device and predicts an onset/apex pair of a synthetic
   clip (faces found by dlib when dlib and its landmark model are installed; else the clip's known
   landmarks stand in for the fitter, which is CPU work and not what this checks);
4. times the benchmark cases of :mod:`mezoo.bench` on the device (fp32 and bf16 autocast; the
   whole-fusion cases also under ``torch.compile``) and prints the table and the Fu-B / Fu-A
   latency ratios, as docs/benchmarks.md lists them; ``end-to-end`` only with dlib.

Everything it prints also goes to ``--out`` (``gpu_check.json`` with the timings). On a machine
without CUDA, ``run --device cpu`` runs the same steps on the CPU (what the tests do).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import importlib.metadata
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: never downloaded: the CUDA machine's own torch build, and what comes with it
NOT_CARRIED = re.compile(r"^(torch|torchvision|torchaudio|triton|nvidia-.*|cuda-.*)$")
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64",
             "manylinux1_x86_64")
#: whole-fusion cases, the only ones timed under torch.compile (compiling every case takes minutes)
COMPILED = "fusion-fu_"


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(text: str) -> str | None:
    """The distribution a ``Requires-Dist`` line or a dependency string names, or ``None`` for an extra's."""
    if "extra ==" in text.replace('"', "'").replace("extra==", "extra =="):
        return None
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", text)
    return canonical(match.group(1)) if match else None


def wheel_requirements(wheel: Path) -> list[str]:
    """The distributions a wheel's METADATA requires (extras' left out)."""
    with zipfile.ZipFile(wheel) as archive:
        meta = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        lines = archive.read(meta).decode("utf-8", "replace").splitlines()
    names = [requirement_name(line.split(":", 1)[1]) for line in lines if line.startswith("Requires-Dist:")]
    return [n for n in names if n]


def wheel_distribution(wheel: Path) -> str:
    return canonical(wheel.name.split("-", 1)[0])


def pins() -> dict[str, str]:
    """``constraints.txt``'s pins, by distribution."""
    out = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            out[canonical(name)] = version.strip()
    return out


def runtime_dependencies() -> list[str]:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [n for n in (requirement_name(d) for d in project["dependencies"]) if n]


def prepare(dest: Path, python_version: str, skip: set[str]) -> None:
    """Download the wheels ``run`` installs (see the module docstring), following each wheel's requirements."""
    dest.mkdir(parents=True, exist_ok=True)
    pinned = pins()
    todo = [n for n in runtime_dependencies() if not NOT_CARRIED.match(n) and n not in skip]
    done: set[str] = set()
    while todo:
        name = todo.pop(0)
        if name in done:
            continue
        done.add(name)
        spec = f"{name}=={pinned[name]}" if name in pinned else name
        before = set(dest.glob("*.whl"))
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                   "--python-version", python_version, "--implementation", "cp", "-d", str(dest), spec]
        for tag in PLATFORMS:
            command += ["--platform", tag]
        subprocess.run(command, check=True)
        got = [w for w in set(dest.glob("*.whl")) - before] or [w for w in dest.glob("*.whl")
                                                                  if wheel_distribution(w) == name]
        for wheel in got:
            todo += [r for r in wheel_requirements(wheel)
                     if r not in done and not NOT_CARRIED.match(r) and r not in skip]
    wheels = sorted(dest.glob("*.whl"))
    size = sum(w.stat().st_size for w in wheels) / 2**20
    print(f"{len(wheels)} wheels, {size:.1f} MiB, in {dest}: {', '.join(w.name for w in wheels)}")


def installed(name: str) -> bool:
    try:
        importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def install_missing(wheels: Path, site: Path) -> tuple[list[str], list[str]]:
    """Install into ``site`` each wheel in ``wheels`` whose distribution is not installed; put
    ``site`` and the checkout first on the import path (this process's and its children's).

    Returns:
        The distributions installed, and those already there.
    """
    found = sorted(wheels.glob("*.whl")) if wheels.is_dir() else []
    missing = [w for w in found if not installed(wheel_distribution(w))]
    present = sorted({wheel_distribution(w) for w in found} - {wheel_distribution(w) for w in missing})
    if missing:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps", "--no-compile",
                        "--no-cache-dir", "--upgrade", "--target", str(site), *map(str, missing)], check=True)
    for path in (str(ROOT), str(site)):
        if path not in sys.path:
            sys.path.insert(0, path)
    os.environ["PYTHONPATH"] = os.pathsep.join([str(site), str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(
        os.pathsep)
    importlib.invalidate_caches()
    return sorted(wheel_distribution(w) for w in missing), present


class KnownLandmarks:
    """A stand-in for the landmark fitter: the clip's known landmarks, calibrated as the fitter's would be."""

    def __init__(self, landmarks):
        self.landmarks = landmarks

    def calibrate(self, image, size=224, span=None, *, name="", box=None, faces=1):
        from mezoo.face.calibration import calibration

        return calibration(self.landmarks, size, span, frame=name, faces=faces, shape=image.shape[:2])

    def boxes(self, image):
        lo, hi = self.landmarks.min(0), self.landmarks.max(0)
        return [(int(lo[0]), int(lo[1]), int(hi[0]), int(hi[1]))]


def dlib_ready() -> bool:
    try:
        importlib.import_module("dlib")
        from mezoo.face.landmarks import find_predictor

        find_predictor()
    except Exception:  # noqa: BLE001 - any reason dlib's fitter cannot run here
        return False
    return True


def run(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    lines: list[str] = []

    def say(text: str) -> None:
        print(text, flush=True)
        lines.append(text)

    added, there = install_missing(args.wheels, args.site)
    say(f"wheels from {args.wheels}: installed {', '.join(added) or 'none'}; already there: {', '.join(there) or 'none'}")
    import torch

    from mezoo import bench
    from mezoo.inference.predictor import load_model
    from mezoo.loso.runner import run_loso
    from mezoo.settings import load_settings

    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print(f"error: --device {args.device}, but torch {torch.__version__} sees no CUDA device "
              f"(torch.version.cuda: {torch.version.cuda}); run on a machine with one, or --device cpu",
              file=sys.stderr)
        return 1
    card = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "CPU"
    say(f"torch {torch.__version__} (CUDA {torch.version.cuda}), Python {platform.python_version()}, {card}")
    out = args.out
    out.mkdir(parents=True, exist_ok=True)

    # 2. a tiny LOSO, the DGM trained along with the head, on the device
    t0 = time.perf_counter()
    settings = load_settings(overrides={
        "dataset": {"synthetic": {"subjects": 3, "clips_per_subject": 6, "size": 112}},
        "face": {"size": 112}, "regions": {"size": 36, "full_face_size": 36},
        "fusion": {"fu_b_attn": {"embed_dim": 32, "num_heads": 4, "patch_size": 18}},
        "displacement": {"name": "dgm", "dgm": {"weights": None, "width": 8, "warmup_steps": 4,
                                                "pair_batch_size": 4}},
        "train": {"epochs": 2, "batch_size": 8},
        "run": {"device": str(device), "checkpoints": True, "cache_dir": str(out / "cache")},
    })
    shutil.rmtree(out / "loso", ignore_errors=True)  # trained afresh every time: a check, not a resume
    loso = run_loso(settings, out / "loso", progress=False)
    full = loso.report["full"]
    say(f"tiny LOSO on {device} (DGM trained along, 3 folds): UF1 {full['uf1']:.3f}, UAR {full['uar']:.3f}, "
        f"{time.perf_counter() - t0:.1f} s, inputs {loso.report['run']['inputs']}")

    # 3. the fold ensemble on the device, on one onset/apex pair
    from mezoo.data.synthetic import SyntheticDataset

    sample = SyntheticDataset(subjects=2, clips_per_subject=1, size=112).samples()[0]
    onset, apex = sample.read_frame(sample.onset), sample.read_frame(sample.apex)
    model = load_model(out / "loso", device=device)
    where = {str(p.device) for m in model.models for p in m.parameters()}
    fitter = "dlib"
    if args.landmarks == "known" or not dlib_ready():
        model._detector = KnownLandmarks(sample.known_landmarks(sample.onset))
        fitter = "the clip's known landmarks" + ("" if args.landmarks == "known" else
                                                 " (dlib or its landmark model is not installed)")
    t0 = time.perf_counter()
    pair = model.predict_pair(onset, apex)
    say(f"predictor ({len(model.models)} fold models, weights on {', '.join(sorted(where))}; faces by {fitter}): "
        f"{pair.label} {', '.join(f'{k} {v:.3f}' for k, v in pair.probs.items())}, {1e3 * (time.perf_counter() - t0):.0f} ms")

    # 4. the benchmark cases
    import fnmatch

    cases = tuple(c for c in bench.CASES if fnmatch.fnmatch(c.name, args.cases)
                  and (c.name != "end-to-end" or dlib_ready()))
    variants = [v for v in args.variants.split(",") if v]
    timings = []
    say("| case | device | variant | median ms | IQR ms | rounds |\n|---|---|---|---:|---:|---:|")
    for variant in variants:
        chosen = tuple(c for c in cases if variant != "compile" or c.name.startswith(COMPILED))
        if not bench.supports(device, variant) or not chosen:
            continue
        for t in bench.run(chosen, [device], (variant,), args.min_time):
            timings.append(t)
            say(f"| {t.case} | {t.device} | {t.variant} | {t.median_ms:.2f} | {t.iqr_ms:.2f} | {t.rounds} |")
    for batch, where_, variant, ratio in bench.ratios(timings):
        say(f"Fu-B / Fu-A whole fusion, {batch}, {where_} {variant}: {ratio:.3f} "
            f"({'meets' if ratio <= 0.85 else 'misses'} the 0.85 target)")
    say(f"gpu_check done in {time.perf_counter() - start:.0f} s")
    (out / "gpu_check.json").write_text(json.dumps({
        "device": card, "torch": torch.__version__, "cuda": torch.version.cuda, "loso": full,
        "pair": pair.probs, "fitter": fitter, "timings": [dataclasses.asdict(t) for t in timings], "log": lines},
        indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    modes = parser.add_subparsers(dest="mode", required=True)
    get = modes.add_parser("prepare", help="download the wheels run installs (needs the package index)")
    get.add_argument("--dest", type=Path, default=ROOT / ".whl")
    get.add_argument("--python-version", default="3.12")
    get.add_argument("--skip", default="", help="comma-separated distributions the CUDA machine already has")
    check = modes.add_parser("run", help="install from the wheels, check and time the GPU path")
    check.add_argument("--wheels", type=Path, default=ROOT / ".whl")
    check.add_argument("--site", type=Path, default=Path(tempfile.gettempdir()) / "mezoo-site")
    check.add_argument("--device", default="cuda")
    check.add_argument("--out", type=Path, default=Path("gpu-check"))
    check.add_argument("--cases", default="*", help="a glob over mezoo.bench's case names")
    check.add_argument("--variants", default="fp32,bf16,compile")
    check.add_argument("--min-time", type=float, default=1.0, help="seconds of timed calls per case")
    check.add_argument("--landmarks", choices=("auto", "known"), default="auto",
                       help="auto: dlib finds the pair's face when it is installed; known: the clip's own landmarks")
    args = parser.parse_args(argv)
    if args.mode == "prepare":
        prepare(args.dest, args.python_version, {canonical(s) for s in args.skip.split(",") if s.strip()})
        return 0
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
