"""Reading a video back: frames from a position, and the frames of several spans in one pass."""

import cv2
import numpy as np
import pytest

from mezoo.inference.video import SEEK_GAP, open_video, span_frames, video_frames


def _numbered_video(path, frames: int = 40, fps: float = 25.0):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (160, 120))
    for i in range(frames):
        frame = np.full((120, 160, 3), 40, np.uint8)
        cv2.putText(frame, str(i), (20, 80), cv2.FONT_HERSHEY_SIMPLEX, 2, (255, 255, 255), 3)
        writer.write(frame)
    writer.release()
    return path


def test_reading_a_video_from_a_frame_gives_the_frames_read_in_order(tmp_path):
    path = _numbered_video(tmp_path / "v.mp4")
    info = open_video(path)
    assert (info.fps, info.frames, info.width, info.height) == (25.0, 40, 160, 120)
    everything = dict(video_frames(path, 0, 39))
    assert sorted(everything) == list(range(40))
    for index, frame in video_frames(path, 23, 26):
        assert np.array_equal(frame, everything[index])
    assert [i for i, _ in video_frames(path, 38, 100)] == [38, 39]


@pytest.mark.parametrize("spans", [
    [(2, 6), (4, 9), (9, 12)],            # overlapping and touching: each frame decoded once
    [(0, 3), (20, 24)],                   # a short gap, read through
    [(1, 2), (SEEK_GAP + 10, SEEK_GAP + 13)],  # a long gap, skipped by seeking
    [(150, 155), (195, 210)],             # past the end: fewer frames, then none
])
def test_span_frames_are_the_frames_read_one_by_one(tmp_path, spans):
    frames = 200
    path = _numbered_video(tmp_path / "v.mp4", frames=frames)
    everything = dict(video_frames(path, 0, frames))
    got = list(span_frames(path, spans))
    assert len(got) == len(spans)
    for (first, last), images in zip(spans, got):
        wanted = [i for i in range(first, last + 1) if i < frames]
        assert len(images) == len(wanted)
        for i, image in zip(wanted, images):
            assert np.array_equal(image, everything[i]), (first, last, i)
