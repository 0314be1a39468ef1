"""Pre-train the DGMs that ship as ``displacement.dgm.weights: synthetic`` and ``faces``.

``--data synthetic`` (the ``synthetic`` weights): clips of the ``synthetic`` dataset with seeds
1..N (the one LOSO evaluates is seed 0 by default, and `mezoo motion-accuracy` measures seed 0 too).
``--data photo_motion,synthetic`` (the ``faces`` weights): clips of the ``photo_motion`` dataset's
``train`` people (real faces that installed packages ship, moved by known motion) with seeds 1..N,
and the synthetic ones (so the drawn faces are not forgotten); the ``photo_motion`` dataset's
``held_out`` people are never seen, so `mezoo motion-accuracy --dataset photo_motion --set
dataset.photo_motion.people=held_out` measures the weights on people they never saw. ``--init``
starts from weights already saved (``synthetic``: the faces DGM starts from the synthetic one).

Trained on random frame pairs of each clip, with two losses: the end-point error against the
pair's true motion (:meth:`~mezoo.data.synthetic.SyntheticClip.motion`) and the paper's
self-supervised ``L_DGM``, so that the fine-tuning LOSO does with ``L_DGM`` starts where it left
off. Architecture: the synthetic dataset's DGM (``width`` 8, ``levels`` 3, ``scale`` 0.5,
symmetric). Nothing here sees a licensed dataset.

    python scripts/pretrain_dgm.py                 # the synthetic weights, ~11 min on 2 CPU cores
    python scripts/pretrain_dgm.py --data photo_motion,synthetic --init synthetic   # the faces weights, ~13 min
    python scripts/pretrain_dgm.py --steps 200 --out /tmp/dgm.safetensors   # a quick try
"""

from __future__ import annotations

import argparse
import subprocess
import time
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file
from tqdm import tqdm

from mezoo.data.photo_motion import PhotoMotionDataset
from mezoo.data.synthetic import SyntheticDataset
from mezoo.displacement.dgm import DGM, PRETRAINED, load_weights

ARCHITECTURE = {"width": 8, "levels": 3, "scale": 0.5}


DATA = {"synthetic": lambda seed: SyntheticDataset(seed=seed),
        "photo_motion": lambda seed: PhotoMotionDataset(people="train", seed=seed)}
WEIGHTS = {"synthetic": "synthetic", "photo_motion": "faces"}


def pair_pool(data: str, seeds: list[int], per_clip: int, rng: np.random.Generator) -> tuple[torch.Tensor, ...]:
    """Random frame pairs of every clip of the given seeds of dataset ``data``: first, second
    ``(P, 3, H, W)`` uint8 and the true motion ``(P, 2, H, W)`` float16. One pair in each clip is
    onset -> apex."""
    first, second, motion = [], [], []
    samples = [s for name in data.split(",") for seed in seeds for s in DATA[name](seed).samples()]
    for sample in tqdm(samples, desc="rendering pairs", unit="clip"):
        clip = sample.source
        picks = [(sample.onset, sample.apex)]
        picks += [tuple(int(v) for v in rng.choice(len(clip), 2, replace=False)) for _ in range(per_clip - 1)]
        for i, j in picks:
            first.append(clip.frame(i).transpose(2, 0, 1))
            second.append(clip.frame(j).transpose(2, 0, 1))
            motion.append(clip.motion(i, j).astype(np.float16))
    return (torch.from_numpy(np.stack(first)), torch.from_numpy(np.stack(second)),
            torch.from_numpy(np.stack(motion)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="synthetic",
                        help="the clips: synthetic (the synthetic weights), photo_motion, or both, comma-separated "
                             "(photo_motion,synthetic: the faces weights)")
    parser.add_argument("--init", help="start from these weights (a name such as synthetic, or a .safetensors path)")
    parser.add_argument("--seeds", type=int, default=3,
                        help="dataset seeds 1..N (default 3: 288 synthetic clips, or 3 x 6 clips of each train person)")
    parser.add_argument("--pairs-per-clip", type=int, default=4)
    parser.add_argument("--steps", type=int, default=1200)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=0.002)
    parser.add_argument("--out", type=Path, help="where to write (default: the package's file of --data's weights)")
    args = parser.parse_args()
    if not args.data or any(name not in DATA for name in args.data.split(",")):
        parser.error(f"--data {args.data!r}: give one or more of {', '.join(DATA)}, comma-separated")
    out = args.out or PRETRAINED[WEIGHTS[args.data.split(",")[0]]]

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    first, second, motion = pair_pool(args.data, list(range(1, args.seeds + 1)), args.pairs_per_clip, rng)
    dgm = DGM(**ARCHITECTURE)
    if args.init:
        load_weights(dgm, args.init)
    optimizer = torch.optim.Adam(dgm.parameters(), lr=args.lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, args.steps)
    generator = torch.Generator().manual_seed(0)
    dgm.train()
    start = time.perf_counter()
    bar = tqdm(range(args.steps), desc="pre-training", unit="step")
    for _ in bar:
        pick = torch.randint(len(first), (args.batch_size,), generator=generator)
        a, b = first[pick].float() / 255, second[pick].float() / 255
        d = dgm.displacement(a, b)
        epe = (d - motion[pick].float()).norm(dim=1).mean()
        loss = epe + dgm.dgm_loss(a, b, d)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        bar.set_postfix(epe=f"{epe.item():.3f}")
    batches = []
    for _ in range(8):
        pick = torch.randint(len(first), (args.batch_size,), generator=generator)
        batches.append((first[pick].float() / 255, second[pick].float() / 255, None))
    dgm.refresh_statistics(batches)
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    except OSError:
        commit = ""
    metadata = {"script": "scripts/pretrain_dgm.py", "commit": commit, "data": args.data, "init": args.init or "",
                "seeds": f"1..{args.seeds}",
                "pairs_per_clip": str(args.pairs_per_clip), "steps": str(args.steps),
                "batch_size": str(args.batch_size), "lr": str(args.lr),
                "architecture": ", ".join(f"{k}={v}" for k, v in ARCHITECTURE.items()),
                "seconds": f"{time.perf_counter() - start:.0f}"}
    out.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in dgm.state_dict().items()}, str(out), metadata=metadata)
    print(f"Wrote {out} ({out.stat().st_size // 1024} KiB): {metadata}")


if __name__ == "__main__":
    main()
