"""Image sizes from objects and dataset columns (io/images.py), and their one use by rewards."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from visual_rewards import DetectionReward, PointingReward
from visual_rewards.io.images import image_size, image_sizes, positive_int


def test_image_size_of_objects() -> None:
    assert image_size(SimpleNamespace(size=(640, 480))) == (640, 480)
    assert image_size(SimpleNamespace(width=64, height=32)) == (64, 32)
    assert image_size(np.zeros((48, 64))) == (64, 48)
    assert image_size([{"width": 8, "height": 4}]) == (8, 4)
    for unknown in ("cat.jpg", b"\x89PNG", None, [], {"width": -1, "height": 2}, 7):
        assert image_size(unknown) is None


def test_image_sizes_prefers_the_size_column() -> None:
    img = SimpleNamespace(size=(8, 4))
    assert image_sizes({"image_size": [(1, 2)], "image": [img]}) == [(1, 2)]
    assert image_sizes({"image": [img, None]}) == [(8, 4), None]
    assert image_sizes({"images": [[img], []]}) == [(8, 4), None]
    assert image_sizes({"image_size": [(640.0, 480.0), (0, 1), "x", np.array([3, 4])]}) == [
        (640, 480),
        None,
        None,
        (3, 4),
    ]
    assert image_sizes({"solution": [1]}) is None
    with pytest.raises(ValueError, match="expected 2 rows in the 'image' column"):
        image_sizes({"image": [img]}, 2)


def test_positive_int() -> None:
    assert [positive_int(v) for v in (1, 2.0, np.int32(5), 0, -1, 1.5, True, "3")] == [
        1,
        2,
        5,
        None,
        None,
        None,
        None,
        None,
    ]


def test_box_and_point_rewards_read_sizes_the_same_way() -> None:
    think = "<think>x</think>"
    img = SimpleNamespace(size=(200, 100))
    det = DetectionReward(coords="pixel", gt_coords="norm1000").score(
        [think + "<answer>[20, 10, 100, 50]</answer>"], [[100, 100, 500, 500]], image=[img]
    )
    assert det.components["iou"][0] == pytest.approx(1.0)
    pts = PointingReward(coords="pixel", gt_coords="norm1000").score(
        [think + "<answer>(30, 20)</answer>"], [[100, 100, 500, 500]], image=[img]
    )
    assert pts.components["accuracy"][0] == 1.0
