"""Absolute values of every coordinate space, and the edges of smart-resize and CoordConfig.

Written against the mutants that survived ``tests/geometry/test_coords.py`` (a round trip holds
at any scale, so it cannot tell ``norm1000`` from ``normalized``): each test here pins a number.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from visual_rewards.geometry.coords import (
    QWEN25VL_MAX_PIXELS,
    QWEN25VL_MIN_PIXELS,
    CoordConfig,
    denormalize_xyxy,
    normalize_xyxy,
    smart_resize,
)

BOX = [[100.0, 50.0, 300.0, 200.0]]


@pytest.mark.parametrize(
    ("coords", "image_size", "pixels", "scale"),
    [
        ("norm1000", None, {}, (1000.0, 1000.0)),
        ("normalized", None, {}, (1.0, 1.0)),
        ("pixel", (640, 480), {}, (640.0, 480.0)),
        ("pixel", (1, 1), {}, (1.0, 1.0)),  # the smallest image is valid
        ("pixel", (1, 7), {}, (1.0, 7.0)),
        ("pixel", (7, 1), {}, (7.0, 1.0)),
        # smart_resize(480, 640) = (476, 644): width first in the scale
        ("qwen25vl", (640, 480), {}, (644.0, 476.0)),
        ("qwen25vl", (1920, 1080), {}, (1316.0, 728.0)),
        # min_pixels reaches smart_resize: a 10x10 image stays one 28x28 patch at 28*28
        ("qwen25vl", (10, 10), {}, (56.0, 56.0)),
        ("qwen25vl", (10, 10), {"min_pixels": 28 * 28}, (28.0, 28.0)),
        ("qwen25vl", (1920, 1080), {"max_pixels": 28 * 28 * 64}, (280.0, 168.0)),
    ],
)
def test_scale_absolute(
    coords: str,
    image_size: tuple[int, int] | None,
    pixels: dict[str, int],
    scale: tuple[float, float],
) -> None:
    # configs are built inside the test: values built at import time would not see a mutant
    cfg = CoordConfig(coords, image_size, **pixels)  # type: ignore[arg-type]
    assert cfg.scale() == scale
    assert all(isinstance(v, float) for v in cfg.scale())


@pytest.mark.parametrize(
    ("coords", "image_size", "expected"),
    [
        ("norm1000", None, [[0.1, 0.05, 0.3, 0.2]]),
        ("normalized", None, BOX),
        ("pixel", (400, 250), [[0.25, 0.2, 0.75, 0.8]]),
        ("qwen25vl", (640, 480), [[100 / 644, 50 / 476, 300 / 644, 200 / 476]]),
    ],
)
def test_normalize_and_denormalize_absolute(
    coords: str, image_size: tuple[int, int] | None, expected: list[list[float]]
) -> None:
    out = normalize_xyxy(BOX, coords, image_size)  # type: ignore[arg-type]
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    assert out.dtype == np.float64 and out.shape == (1, 4)
    back = denormalize_xyxy(expected, coords, image_size)  # type: ignore[arg-type]
    np.testing.assert_allclose(back, BOX, rtol=1e-12)


def test_default_space_is_norm1000() -> None:
    np.testing.assert_allclose(normalize_xyxy(BOX), [[0.1, 0.05, 0.3, 0.2]])
    np.testing.assert_allclose(denormalize_xyxy([[0.1, 0.05, 0.3, 0.2]]), BOX)
    assert CoordConfig.from_options() == CoordConfig("norm1000")


def test_a_config_passed_as_coords_is_used_with_its_image_size() -> None:
    cfg = CoordConfig("pixel", image_size=(400, 250))
    np.testing.assert_allclose(normalize_xyxy(BOX, cfg), [[0.25, 0.2, 0.75, 0.8]])
    np.testing.assert_allclose(denormalize_xyxy([[0.25, 0.2, 0.75, 0.8]], cfg), BOX)


def test_from_options_defaults_and_overrides() -> None:
    cfg = CoordConfig.from_options("qwen25vl", (640, 480))
    assert (cfg.coords, cfg.image_size) == ("qwen25vl", (640, 480))
    assert (cfg.min_pixels, cfg.max_pixels) == (QWEN25VL_MIN_PIXELS, QWEN25VL_MAX_PIXELS)
    cfg = CoordConfig.from_options("qwen25vl", (640, 480), min_pixels=784, max_pixels=100_000)
    assert (cfg.min_pixels, cfg.max_pixels) == (784, 100_000)
    cfg = CoordConfig.from_options("qwen25vl", (640, 480), max_pixels=100_000)
    assert (cfg.min_pixels, cfg.max_pixels) == (QWEN25VL_MIN_PIXELS, 100_000)
    given = CoordConfig("pixel", image_size=(3, 4))
    assert CoordConfig.from_options(given, (9, 9), 1, 2) is given


@pytest.mark.parametrize("size", [(0, 5), (5, 0), (-1, 5), (5, -1)])
def test_image_size_must_be_positive(size: tuple[int, int]) -> None:
    with pytest.raises(ValueError, match="image_size must be positive"):
        CoordConfig("pixel", image_size=size)


def test_hash_is_cached_and_tells_configs_apart() -> None:
    configs = [
        CoordConfig("norm1000"),
        CoordConfig("normalized"),
        CoordConfig("pixel", image_size=(640, 480)),
        CoordConfig("pixel", image_size=(480, 640)),
        CoordConfig("qwen25vl", image_size=(640, 480), max_pixels=100_000),
    ]
    hashes = {hash(c) for c in configs}
    assert len(hashes) == len(configs)  # distinct keys of the per-batch scale caches
    assert hash(CoordConfig("pixel", image_size=(640, 480))) == hash(configs[2])
    for c in configs:
        back = pickle.loads(pickle.dumps(c))
        assert back == c and hash(back) == hash(c)


@pytest.mark.parametrize(("height", "width"), [(0, 10), (10, 0), (-3, 10), (10, -3)])
def test_smart_resize_rejects_non_positive_sizes(height: int, width: int) -> None:
    with pytest.raises(ValueError, match="must be positive"):
        smart_resize(height, width)


def test_smart_resize_sizes_of_one_pixel_and_the_aspect_limit() -> None:
    assert smart_resize(1, 1) == (56, 56)
    assert smart_resize(1, 200) == (28, 196)  # exactly 200:1 is accepted
    assert smart_resize(200, 1) == (196, 28)
    with pytest.raises(ValueError, match=r"at most 200, got 250\.0"):
        smart_resize(2, 500)


def test_smart_resize_area_exactly_at_the_bounds_is_kept() -> None:
    # 50x60 rounds to 56x56 = 3136 pixels: equal to the bound is inside it, not rescaled
    assert smart_resize(50, 60, min_pixels=784, max_pixels=3136) == (56, 56)
    assert smart_resize(50, 60, min_pixels=3136, max_pixels=10**6) == (56, 56)
    # one pixel over / under the bound rescales
    assert smart_resize(50, 60, min_pixels=784, max_pixels=3135) == (28, 56)
    assert smart_resize(50, 60, min_pixels=3137, max_pixels=10**6) == (56, 84)
