"""`mezoo motion-accuracy`: the displacement providers against the synthetic dataset's true motion."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from mezoo import motion
from mezoo.cli import cli
from mezoo.data.synthetic import SyntheticDataset, true_motion
from mezoo.face.template import canonical_landmarks


@pytest.fixture(scope="module")
def truth_and_regions():
    sample = SyntheticDataset(subjects=2, clips_per_subject=3).samples()[1]
    truth = true_motion(sample)
    return truth, motion.regions(sample.source.landmarks(sample.onset), 224)


def test_regions_cover_the_face_and_leave_a_background():
    where = motion.regions(canonical_landmarks(224), 224)
    assert where["au"].sum() > 0.2 * 224 * 224  # the nine boxes
    assert (where["au"] <= where["face"]).all()  # the boxes are part of the face
    assert not (where["face"] & where["background"]).any()
    assert where["background"].sum() > 0


def test_the_truth_scores_zero_and_no_motion_scores_the_mean_magnitude(truth_and_regions):
    truth, where = truth_and_regions
    exact = motion.flow_errors(truth, truth, where)
    assert exact["epe_face"] == 0 and exact["epe_au"] == 0 and exact["angular"] < 0.01 and exact["direction"] < 0.1
    none = motion.flow_errors(np.zeros_like(truth), truth, where)
    magnitude = np.hypot(*truth)
    assert none["epe_face"] == pytest.approx(magnitude[where["face"]].mean(), rel=1e-6)
    assert none["epe_au"] == pytest.approx(magnitude[where["au"]].mean(), rel=1e-6)
    assert none["direction"] is None and none["face_to_background"] is None  # no direction, no magnitude
    assert none["angular"] > 10


def test_errors_grow_with_the_error_and_normalised_outputs_have_no_epe(truth_and_regions):
    truth, where = truth_and_regions
    half = motion.flow_errors(truth * 0.5, truth, where)
    assert 0 < half["epe_face"] < motion.flow_errors(np.zeros_like(truth), truth, where)["epe_face"]
    assert half["direction"] < 0.1  # same directions, shorter
    turned = motion.flow_errors(np.stack([-truth[1], truth[0]]), truth, where)  # every vector turned 90 deg
    assert turned["direction"] == pytest.approx(90, abs=0.5)
    scaled = motion.flow_errors(truth / np.hypot(*truth).max(), truth, where, pixels=False)
    assert scaled["epe_face"] is None and scaled["angular"] is None and scaled["direction"] < 0.1


def test_command_prints_a_table_for_each_provider(tmp_path):
    out = tmp_path / "rows.json"
    result = CliRunner().invoke(cli, ["motion-accuracy", "--samples", "6", "--providers", "farneback,of_norm,dynamic_image",
                                      "--set", "dataset.synthetic.subjects=2", "--json", str(out)])
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(out.read_text())}
    assert set(rows) == {"true motion", "no motion", "farneback", "of_norm"}  # dynamic images are no vector field
    assert "| farneback |" in result.output
    assert rows["true motion"]["epe_face"] == 0
    # Farneback sees 1-3 px motion on the synthetic faces: far below not moving at all
    assert rows["farneback"]["epe_face"] < 0.5 * rows["no motion"]["epe_face"]
    assert rows["of_norm"]["epe_face"] is None
    assert rows["of_norm"]["direction"] == pytest.approx(rows["farneback"]["direction"], abs=0.01)  # same directions


def test_command_refuses_a_dataset_without_true_motion(tmp_path):
    result = CliRunner().invoke(cli, ["motion-accuracy", "--dataset", "casme2", "--set", f"dataset.root={tmp_path}"])
    assert result.exit_code != 0
    assert "does not know its true motion" in result.output and "Traceback" not in result.output


def test_command_names_an_unknown_provider():
    result = CliRunner().invoke(cli, ["motion-accuracy", "--samples", "2", "--providers", "farnebak",
                                      "--set", "dataset.synthetic.subjects=2"])
    assert result.exit_code != 0 and "unknown displacement provider farnebak" in result.output


def test_command_measures_the_dgm_from_scratch_as_shipped_and_fine_tuned(tmp_path):
    out = tmp_path / "rows.json"
    sets = ["dataset.synthetic.subjects=2", "dataset.synthetic.clips_per_subject=3", "dataset.synthetic.size=64",
            "face.size=64", "displacement.dgm.warmup_steps=1", "displacement.dgm.pairs_per_clip=1",
            "displacement.dgm.pair_batch_size=2", "displacement.dgm.finetune_lr=0.0002"]
    result = CliRunner().invoke(cli, ["motion-accuracy", "--providers", "dgm", "--finetune-steps", "1", "--json", str(out),
                                      *[a for s in sets for a in ("--set", s)]])
    assert result.exit_code == 0, result.output
    notes = [(r["name"], r["note"]) for r in json.loads(out.read_text())[2:]]
    assert notes == [("dgm (from scratch)", "after 1 warm-up steps"),
                     ("dgm (weights: synthetic)", "as shipped, no warm-up"),
                     ("dgm (weights: synthetic)", "after 1 fine-tuning steps at 0.0002"),
                     ("dgm (weights: faces)", "as shipped, no warm-up"),
                     ("dgm (weights: faces)", "after 1 fine-tuning steps at 0.0002")]
