"""Coordinate spaces and Qwen2.5-VL's smart-resize."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from visual_rewards.geometry.coords import (
    QWEN25VL_FACTOR,
    CoordConfig,
    denormalize_xyxy,
    normalize_xyxy,
    smart_resize,
)

# qwen_vl_utils' defaults: MIN_PIXELS = 4 * 28 * 28, MAX_PIXELS = 16384 * 28 * 28.
QWEN_VL_UTILS_MAX = 16384 * 28 * 28


@pytest.mark.parametrize(
    ("height", "width", "max_pixels", "expected"),
    [
        # Published: a 1920x1080 image becomes 1932x1092 under qwen_vl_utils' defaults.
        (1080, 1920, QWEN_VL_UTILS_MAX, (1092, 1932)),
        # transformers' Qwen2VLImageProcessor default max_pixels = 28*28*1280 scales it down.
        (1080, 1920, 28 * 28 * 1280, (728, 1316)),
        (480, 640, 28 * 28 * 1280, (476, 644)),
        (28, 28, 28 * 28 * 1280, (56, 56)),  # below min_pixels: scaled up
        (224, 224, 28 * 28 * 1280, (224, 224)),  # already a multiple of 28
    ],
)
def test_smart_resize_known_outputs(
    height: int, width: int, max_pixels: int, expected: tuple[int, int]
) -> None:
    assert smart_resize(height, width, max_pixels=max_pixels) == expected


@given(st.integers(14, 4000), st.integers(14, 4000))
def test_smart_resize_invariants(height: int, width: int) -> None:
    if max(height, width) / min(height, width) > 200:
        with pytest.raises(ValueError, match="aspect ratio"):
            smart_resize(height, width)
        return
    h, w = smart_resize(height, width)
    assert h % QWEN25VL_FACTOR == 0 and w % QWEN25VL_FACTOR == 0
    assert h >= QWEN25VL_FACTOR and w >= QWEN25VL_FACTOR
    assert h * w <= 28 * 28 * 1280


def test_smart_resize_rejects_bad_sizes() -> None:
    with pytest.raises(ValueError, match="positive"):
        smart_resize(0, 10)
    with pytest.raises(ValueError, match="aspect ratio"):
        smart_resize(10, 5000)


def test_coord_config_validation() -> None:
    with pytest.raises(ValueError, match="coords must be one of"):
        CoordConfig("bogus")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="image_size"):
        CoordConfig("pixel")
    with pytest.raises(ValueError, match="positive"):
        CoordConfig("qwen25vl", image_size=(0, 10))


@given(
    st.sampled_from(["norm1000", "normalized", "pixel", "qwen25vl"]),
    st.integers(32, 3000),
    st.integers(32, 3000),
)
def test_normalize_roundtrip(coords: str, w: int, h: int) -> None:
    boxes = np.array([[0.1, 0.2, 0.6, 0.9], [0.0, 0.0, 1.0, 1.0]])
    there = denormalize_xyxy(boxes, coords, image_size=(w, h))  # type: ignore[arg-type]
    back = normalize_xyxy(there, coords, image_size=(w, h))  # type: ignore[arg-type]
    np.testing.assert_allclose(back, boxes, rtol=0, atol=1e-12)


def test_qwen25vl_scale_uses_resized_size() -> None:
    cfg = CoordConfig("qwen25vl", image_size=(1920, 1080))
    assert cfg.scale() == (1316.0, 728.0)
    cfg = CoordConfig("qwen25vl", image_size=(1920, 1080), max_pixels=QWEN_VL_UTILS_MAX)
    assert cfg.scale() == (1932.0, 1092.0)


def test_coord_config_hash_survives_other_processes() -> None:
    """Configs key caches, so a config pickled into another process (with another string-hash
    seed) must hash like a config built there."""
    import subprocess
    import sys

    code = (
        "import pickle, sys; from visual_rewards.geometry.coords import CoordConfig; "
        "c = pickle.loads(sys.stdin.buffer.read()); "
        "d = CoordConfig('qwen25vl', (640, 480)); "
        "print(hash(c) == hash(d), c == d, {d: 1}.get(c))"
    )
    cfg = CoordConfig("qwen25vl", image_size=(640, 480))
    out = subprocess.run(
        [sys.executable, "-c", code],
        input=pickle.dumps(cfg),
        capture_output=True,
        check=True,
        env={"PYTHONHASHSEED": "12345"},
    ).stdout.decode()
    assert out.split() == ["True", "True", "1"]


def test_from_options_is_the_one_loose_builder() -> None:
    from visual_rewards.geometry.coords import (
        COORD_SPACES,
        QWEN25VL_MAX_PIXELS,
        QWEN25VL_MIN_PIXELS,
        CoordConfig,
    )

    assert COORD_SPACES == ("norm1000", "normalized", "pixel", "qwen25vl")
    cfg = CoordConfig.from_options("qwen25vl", (640, 480), None, 12544)
    assert (cfg.min_pixels, cfg.max_pixels) == (QWEN25VL_MIN_PIXELS, 12544)
    assert CoordConfig.from_options(cfg) is cfg
    assert CoordConfig.from_options("pixel", (10, 10), 1, None).max_pixels == QWEN25VL_MAX_PIXELS
    with pytest.raises(ValueError, match="coords must be one of"):
        CoordConfig.from_options("inches")  # type: ignore[arg-type]
