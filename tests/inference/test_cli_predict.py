"""`mezoo train`, `mezoo predict` (pair, clip folder, video) and `mezoo synthetic-video` end to end."""

from __future__ import annotations

import json

import cv2
from click.testing import CliRunner

from mezoo.cli import cli


def test_train_then_predict_a_pair_a_clip_and_a_video(tiny_config, tmp_path, people):
    config = tmp_path / "tiny.yaml"
    config.write_text(tiny_config(train={"epochs": 1}).dump())
    model = tmp_path / "model"
    trained = CliRunner().invoke(cli, ["train", "--config", str(config), "--displacement", "farneback",
                                       "--out", str(model), "--quiet"])
    assert trained.exit_code == 0, trained.output
    assert "on 18 samples of 3 subjects of synthetic (negative 6, positive 6, surprise 6)" in trained.output
    assert (model / "weights.safetensors").is_file() and (model / "config.yaml").is_file()
    again = CliRunner().invoke(cli, ["train", "--config", str(config), "--out", str(model), "--quiet"])
    assert again.exit_code == 1 and "already holds a model" in again.output

    sample = people[0]
    clip = tmp_path / "clip"
    clip.mkdir()
    for i in range(len(sample)):
        cv2.imwrite(str(clip / f"img{i}.png"), cv2.cvtColor(sample.read_frame(i), cv2.COLOR_RGB2BGR))
    onset, apex = clip / "img0.png", clip / f"img{sample.apex}.png"
    pair = CliRunner().invoke(cli, ["predict", "--model", str(model), str(onset), str(apex)])
    assert pair.exit_code == 0, pair.output
    assert "| class | probability |" in pair.output and "Predicted: " in pair.output
    as_json = json.loads(CliRunner().invoke(cli, ["predict", "--model", str(model), str(onset), str(apex),
                                                  "--json"]).output)
    assert as_json["label"] in ("negative", "positive", "surprise") and as_json["input"] == [str(onset), str(apex)]
    assert f"| {as_json['label']} |" in pair.output
    folder = CliRunner().invoke(cli, ["predict", "--model", str(model), str(clip), "--json"])
    assert folder.exit_code == 0, folder.output
    assert 1 <= json.loads(folder.output)["apex"] <= len(sample) - 2

    video = tmp_path / "demo.mp4"
    made = CliRunner().invoke(cli, ["synthetic-video", str(video), "--clips", "1", "--hold", "1"])
    assert made.exit_code == 0, made.output
    truth = json.loads((tmp_path / "demo.mp4.json").read_text())["clips"][0]
    out = tmp_path / "timeline"
    spotted = CliRunner().invoke(cli, ["predict", "--model", str(model), str(video), "--out", str(out), "--quiet"])
    assert spotted.exit_code == 0, spotted.output
    assert "1 micro-expression(s) spotted" in spotted.output and "frames/s)" in spotted.output
    row = (out / "timeline.csv").read_text().splitlines()[1].split(",")
    assert abs(int(row[1]) - truth["apex"]) <= 2
    assert (out / "motion.png").is_file() and (out / "timeline.json").is_file()


def test_predict_refuses_what_it_cannot_use(tmp_path, people):
    image = tmp_path / "face.png"
    cv2.imwrite(str(image), people[0].read_frame(0))
    runner = CliRunner()
    one = runner.invoke(cli, ["predict", "--model", str(tmp_path), str(image)])
    assert one.exit_code == 2 and "is one image; give the ONSET and the APEX" in one.output
    three = runner.invoke(cli, ["predict", "--model", str(tmp_path), str(image), str(image), str(image)])
    assert three.exit_code == 2 and "got 3 inputs" in three.output
    missing = runner.invoke(cli, ["predict", "--model", str(tmp_path), str(tmp_path / "nope.mp4")])
    assert missing.exit_code == 1 and "nope.mp4 does not exist" in missing.output
    no_model = runner.invoke(cli, ["predict", "--model", str(tmp_path), str(image), str(image)])
    assert no_model.exit_code == 1 and "is not a mezoo model directory" in no_model.output
    assert "Traceback" not in no_model.output
