"""How well mezoo spots micro-expressions on generated material (the numbers in docs/inference.md).

1. Apex spotters on clips: each registered spotter on the 96 clips of ``synthetic`` with seed 1
   (people the default dataset, seed 0, never had): mean error in frames and the share exact.
2. Intervals in videos: for seeds 1-3, 12 clips of one person rendered into a 640 x 480, 30 fps MP4
   between still stretches (:func:`mezoo.data.synthetic.write_video`), spotted by
   ``Predictor.predict_video`` with its defaults; an interval is a hit when its IoU with a clip's
   onset..offset is at least 0.5 (MEGC's rule). The model's weights play no part in spotting, so
   an untrained model of the default settings is used.

    python scripts/spotting_accuracy.py [--videos-only | --clips-only]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from mezoo import plugins
from mezoo.data.synthetic import VIDEO_SPAN, SyntheticDataset, write_video
from mezoo.inference.predictor import Predictor
from mezoo.model import build_model
from mezoo.settings import load_settings


def clips() -> None:
    samples = SyntheticDataset(subjects=8, seed=1).samples()
    print("| apex spotter | mean error (frames) | exact | within 1 |\n|---|---:|---:|---:|")
    for name in plugins.names("apex_spotter"):
        errors = np.array([abs(int(plugins.get("apex_spotter", name)(s)) - s.apex) for s in samples])
        print(f"| {name} | {errors.mean():.2f} | {(errors == 0).mean():.0%} | {(errors <= 1).mean():.0%} |")


def videos() -> None:
    settings = load_settings(overrides={"run": {"device": "cpu"}})
    model = Predictor.from_model(build_model(settings, 3).eval(), settings, ("negative", "positive", "surprise"))
    hits = false = total = 0
    with tempfile.TemporaryDirectory() as folder:
        for seed in (1, 2, 3):
            path = Path(folder) / f"seed{seed}.mp4"
            truth = write_video(path, SyntheticDataset(subjects=2, clips_per_subject=12, seed=seed,
                                                       span=VIDEO_SPAN).samples()[:12],
                                hold=1.0)
            found = model.predict_video(path).intervals
            matched = set()
            for interval in found:
                def iou(t: dict) -> float:
                    inter = min(interval.offset, t["offset"]) - max(interval.onset, t["onset"]) + 1
                    union = max(interval.offset, t["offset"]) - min(interval.onset, t["onset"]) + 1
                    return max(inter, 0) / union
                best = max(range(len(truth)), key=lambda k: iou(truth[k]))
                if iou(truth[best]) >= 0.5 and best not in matched:
                    matched.add(best)
                else:
                    false += 1
            hits += len(matched)
            total += len(truth)
            missed = [f"{t['key']} ({t['label']})" for k, t in enumerate(truth) if k not in matched]
            print(f"seed {seed}: {len(matched)} of {len(truth)} clips spotted, {len(found) - len(matched)} false; "
                  f"missed: {', '.join(missed) or 'none'}")
    print(f"all: {hits} of {total} spotted (recall {hits / total:.2f}), {false} false "
          f"(precision {hits / max(hits + false, 1):.2f})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos-only", action="store_true")
    parser.add_argument("--clips-only", action="store_true")
    args = parser.parse_args()
    if not args.videos_only:
        clips()
    if not args.clips_only:
        videos()
