"""Figures: the flow colour wheel and the paper's Fig. 3 layout from the command line."""

import numpy as np
from click.testing import CliRunner
from matplotlib.colors import rgb_to_hsv

from mezoo.cli import cli
from mezoo.figures import flow_to_rgb


def test_flow_colours_encode_direction_and_magnitude():
    flow = np.zeros((2, 4, 4), np.float32)
    flow[0, 0, 0] = 2.0  # right, full
    flow[0, 0, 1] = -2.0  # left, full
    flow[1, 0, 2] = -1.0  # up, half
    rgb = flow_to_rgb(flow)
    hsv = rgb_to_hsv(rgb / 255.0)
    assert rgb.shape == (4, 4, 3) and rgb.dtype == np.uint8
    assert (rgb[3, 3] == 255).all()  # no motion is white
    assert hsv[0, 0, 0] < 0.01 and abs(hsv[0, 1, 0] - 0.5) < 0.01  # opposite directions, opposite hues
    assert abs(hsv[0, 2, 0] - 0.25) < 0.01 and abs(hsv[0, 2, 1] - 0.5) < 0.02  # up, half saturated
    assert abs(hsv[0, 0, 1] - 1.0) < 0.01


def test_figure_displacements_command(tmp_path):
    out = tmp_path / "fig3.png"
    result = CliRunner().invoke(cli, [
        "figure", "displacements", "--dgm-steps", "2", "--out", str(out),
        "--set", "dataset.synthetic.subjects=2", "--set", "dataset.synthetic.clips_per_subject=3",
        "--set", "dataset.synthetic.size=64", "--set", "face.size=64",
        "--set", "displacement.dgm.pairs_per_clip=1", "--set", "displacement.dgm.pair_batch_size=2",
    ])
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from matplotlib.image import imread

    image = imread(out)
    assert image.shape[1] > 1.4 * image.shape[0]  # five columns, three rows (one per class)


def test_figure_unknown_sample_is_one_line(tmp_path):
    result = CliRunner().invoke(cli, ["figure", "displacements", "--sample", "synthetic/s99/clip00",
                                      "--set", "dataset.synthetic.subjects=2", "--out", str(tmp_path / "x.png")])
    assert result.exit_code == 1
    assert result.output.startswith("Error: no sample synthetic/s99/clip00 in dataset 'synthetic'")


def test_time_weights_figure_has_one_bar_per_step(tmp_path):
    from matplotlib.image import imread

    from mezoo.figures import time_weights_figure

    short = time_weights_figure(np.full(3, 1 / 3), tmp_path / "short.png")
    long = time_weights_figure(np.linspace(0.05, 0.17, 9), tmp_path / "long.png", "FRL-DGT-S")
    assert short.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert imread(long).shape[1] > imread(short).shape[1]  # wider for more steps
