"""Grounding dialects: registry, detection, round trips, adversarial inputs, batch equality."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from timing import cpu_seconds

from visual_rewards.geometry.coords import CoordConfig
from visual_rewards.parsing import parse_detections, parse_detections_batch, parse_points
from visual_rewards.parsing.answers import DEFAULT_MAX_ANSWER_CHARS
from visual_rewards.parsing.dialect_render import quantum, render_boxes, render_points
from visual_rewards.parsing.dialects import (
    DIALECT_NAMES,
    DIALECTS,
    detect_dialect,
    get_dialect,
)

BOX_DIALECTS = [n for n in DIALECT_NAMES if DIALECTS[n].reads_boxes]
POINT_DIALECTS = [n for n in DIALECT_NAMES if DIALECTS[n].reads_points]
#: Dialects whose boxes carry no label (Visual-RFT: one category per question; GLM: the phrase
#: is in the surrounding text).
UNLABELLED = {"visual_rft", "glm4v"}
SIZE = (640, 480)


# --- registry -------------------------------------------------------------------------------


def test_every_dialect_is_described() -> None:
    assert set(DIALECT_NAMES) == set(DIALECTS)
    for d in DIALECTS.values():
        assert d.source and d.models and d.labels
        assert d.axis_order in ("xy", "yx")
        assert d.reads_boxes or d.reads_points
        assert (d.box_prompt is None) == (d.box_syntax is None)
        assert d.needs_image_size == (d.scale in ("pixel", "resized_pixel"))


def test_unknown_dialect_is_a_caller_error() -> None:
    with pytest.raises(ValueError, match=r"unknown dialect 'qwen4'.*visual_rft"):
        get_dialect("qwen4")
    with pytest.raises(ValueError, match="unknown dialect"):
        parse_detections("[1, 2, 3, 4]", dialect="qwen4")


def test_dialect_without_points_or_boxes_is_a_caller_error() -> None:
    with pytest.raises(ValueError, match="writes no points"):
        parse_points("<loc0001><loc0002><loc0003><loc0004> cat", dialect="paligemma")
    with pytest.raises(ValueError, match="writes no points"):
        render_points("kosmos2", [[0.5, 0.5]])


def test_coords_and_dialect_must_agree() -> None:
    with pytest.raises(ValueError, match="dialect"):
        parse_detections(
            "<loc0001><loc0002><loc0003><loc0004>", "pixel", (8, 8), dialect="paligemma"
        )
    # the default coords, or the dialect's own space, are accepted
    assert len(parse_detections("[1, 2, 3, 4]", "norm1000", dialect="qwen3vl")) == 1
    with pytest.raises(ValueError, match="image_size"):
        parse_detections('{"bbox_2d": [1, 2, 3, 4]}', dialect="qwen25vl")


# --- auto -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<loc0256><loc0256><loc0768><loc0768> cat", "paligemma"),
        ("car<loc_53><loc_334><loc_933><loc_775>", "florence2"),
        ("<phrase>a</phrase><object><patch_index_0044><patch_index_0863></object>", "kosmos2"),
        ("<|ref|>cat<|/ref|><|det|>[[1, 2, 3, 4]]<|/det|>", "deepseek_vl2"),
        ("It is at <|begin_of_box|>[[1, 2, 3, 4]]<|end_of_box|>.", "glm4v"),
        ('<point x="61.5" y="40.6" alt="cup">cup</point>', "molmo"),
        ('<points x1="1.0" y1="2.0" x2="3.0" y2="4.0" alt="a">a</points>', "molmo"),
    ],
)
def test_auto_picks_unique_tokens_and_says_so(text: str, expected: str) -> None:
    assert detect_dialect(text) == expected
    kind_reads = DIALECTS[expected].reads_boxes
    parsed = parse_detections(text, dialect="auto") if kind_reads else None
    if parsed is not None:
        assert parsed.dialect == expected and not parsed.failed


@pytest.mark.parametrize(
    "text",
    [
        '[{"bbox_2d": [1, 2, 3, 4]}]',  # Qwen2.5-VL (pixels) or Qwen3-VL (0-1000)
        '[{"box_2d": [1, 2, 3, 4]}]',  # Gemini (y first) or GLM's GUI prompts (x first)
        "<ref>cat</ref><box>[[1, 2, 3, 4]]</box>",  # InternVL, MiniCPM-V and Qwen-VL share tags
        "<|box_start|>(1,2),(3,4)<|box_end|>",  # Qwen2-VL (0-1000) or Qwen2.5-VL (pixels)
        "[1, 2, 3, 4]",
        "<loc0001><loc0002><loc0003><loc0004> a <|det|>[[1, 2, 3, 4]]<|/det|>",  # two families
    ],
)
def test_auto_never_guesses(text: str) -> None:
    assert detect_dialect(text) is None
    d = parse_detections(text, dialect="auto")
    assert d.failed and d.dialect is None and "name the dialect" in d.errors[0]


def test_default_keeps_todays_reader() -> None:
    text = '[{"box_2d": [100, 200, 300, 400]}]'
    today = parse_detections(text)
    assert today.dialect is None and today.boxes.tolist() == [[0.1, 0.2, 0.3, 0.4]]
    gemini = parse_detections(text, dialect="gemini")  # y first
    assert gemini.dialect == "gemini" and gemini.boxes.tolist() == [[0.2, 0.1, 0.4, 0.3]]


# --- round trips ------------------------------------------------------------------------------

_side = st.floats(0.1, 0.6)
_corner = st.floats(0.0, 0.4)
_box = st.tuples(_corner, _corner, _side, _side).map(
    lambda t: [t[0], t[1], t[0] + t[2], t[1] + t[3]]
)
_label = st.text(alphabet="abcdefghij klm", min_size=1, max_size=12).map(str.strip).filter(bool)
_sizes = st.tuples(st.integers(64, 2000), st.integers(64, 2000)).filter(
    lambda s: max(s) / min(s) < 50
)


@pytest.mark.parametrize("dialect", BOX_DIALECTS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_boxes_round_trip(dialect: str, data: st.DataObject) -> None:
    boxes = data.draw(st.lists(_box, min_size=1, max_size=5))
    labels = data.draw(st.lists(_label, min_size=len(boxes), max_size=len(boxes)))
    size = data.draw(_sizes) if DIALECTS[dialect].needs_image_size else None
    text = render_boxes(dialect, boxes, labels, image_size=size)
    d = parse_detections(text, dialect=dialect, image_size=size)
    assert not d.failed and d.n_invalid == 0 and len(d) == len(boxes), (text, d.errors)
    np.testing.assert_allclose(d.boxes, boxes, rtol=0, atol=quantum(dialect, size) + 1e-9)
    assert d.labels == ([None] * len(boxes) if dialect in UNLABELLED else labels)


@pytest.mark.parametrize("dialect", POINT_DIALECTS)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_points_round_trip(dialect: str, data: st.DataObject) -> None:
    pts = data.draw(
        st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1)).map(list), min_size=1, max_size=5)
    )
    labels = data.draw(st.lists(_label, min_size=len(pts), max_size=len(pts)))
    size = data.draw(_sizes) if DIALECTS[dialect].needs_image_size else None
    text = render_points(dialect, pts, labels, image_size=size)
    p = parse_points(text, dialect=dialect, image_size=size)
    assert not p.failed and p.n_invalid == 0 and len(p) == len(pts), (text, p.errors)
    np.testing.assert_allclose(p.points, pts, rtol=0, atol=quantum(dialect, size) + 1e-9)
    if dialect != "glm4v":
        assert p.labels == labels


def test_quantisation_follows_the_post_processors() -> None:
    # Florence-2: floor into 1000 bins, read back the bin centre
    assert render_boxes("florence2", [[0.0, 0.0, 1.0, 1.0]]) == "<loc_0><loc_0><loc_999><loc_999>"
    d = parse_detections("<loc_0><loc_0><loc_999><loc_999>", dialect="florence2")
    assert d.boxes.tolist() == [[0.0005, 0.0005, 0.9995, 0.9995]]
    # PaliGemma: round(v * 1023), y first; both edges are on the grid
    assert (
        render_boxes("paligemma", [[0.0, 0.0, 1.0, 1.0]]) == "<loc0000><loc0000><loc1023><loc1023>"
    )
    # DeepSeek-VL2: the far edge is 999
    d = parse_detections("<|det|>[[0, 0, 999, 999]]<|/det|>", dialect="deepseek_vl2")
    assert d.boxes.tolist() == [[0.0, 0.0, 1.0, 1.0]]
    # Kosmos-2: corners in one column or row give the outer cell edges, others the centres
    d = parse_detections("<object><patch_index_0000><patch_index_0000></object>", dialect="kosmos2")
    assert d.boxes.tolist() == [[0.0, 0.0, 1 / 32, 1 / 32]]
    d = parse_detections("<object><patch_index_0000><patch_index_1023></object>", dialect="kosmos2")
    assert d.boxes.tolist() == [[1 / 64, 1 / 64, 1 - 1 / 64, 1 - 1 / 64]]


# --- invalid items are counted, never fixed ---------------------------------------------------


@pytest.mark.parametrize(
    ("dialect", "text", "n_valid", "n_invalid"),
    [
        ("paligemma", "<loc0300><loc0100><loc0200><loc0400> flipped", 0, 1),
        ("paligemma", "<loc0001><loc0002><loc0003> three", 0, 1),
        ("florence2", "a<loc_1><loc_2><loc_30><loc_40><loc_5>", 1, 1),
        ("florence2", "a<loc_1><loc_2><loc_30><loc_4000>", 0, 1),
        ("kosmos2", "<object><patch_index_0044></object>", 0, 1),
        ("kosmos2", "<object><patch_index_5000><patch_index_6000></object>", 0, 1),
        ("internvl", "<ref>a</ref><box>[[1, 2, 3]]</box>", 0, 1),
        ("internvl", "<ref>a</ref><box>null</box>", 0, 1),
        ("internvl", "a[[100, 200, 300, 400], [5, 6", 1, 1),  # tags decoded away, truncated
        ("minicpmv", "<box>100 200 300 400", 0, 1),  # truncated
        ("glm4v", "<|begin_of_box|>42<|end_of_box|>", 0, 1),
        ("molmo", '<points x1="1.0" y1="2.0" alt="a">a</points>', 0, 1),
        ("molmo", '<point x="1.0" y="nan" alt="a">a</point>', 0, 1),
        ("deepseek_vl2", "<|det|>[[5, 5, 1, 1], [1, 2, 3, 4]]<|/det|>", 1, 1),
    ],
)
def test_invalid_items_are_counted(dialect: str, text: str, n_valid: int, n_invalid: int) -> None:
    d = parse_detections(text, dialect=dialect)
    assert (len(d), d.n_invalid) == (n_valid, n_invalid), d.errors
    assert len(d.errors) >= n_invalid


def test_internvl_reads_its_answer_with_the_tags_decoded_away() -> None:
    # <ref>, </ref>, <box>, </box> are special tokens: decoding with skip_special_tokens=True
    # (InternVL's chat(), servers by default) leaves the phrase and the lists
    tagged = parse_detections(
        "<ref>car</ref><box>[[75, 658, 250, 871], [286, 558, 444, 711]]</box>\n"
        "<ref>truck</ref><box>[[440, 208, 502, 255]]</box>",
        dialect="internvl",
    )
    bare = parse_detections(
        "car[[75, 658, 250, 871], [286, 558, 444, 711]]\ntruck[[440, 208, 502, 255]]",
        dialect="internvl",
    )
    assert bare.boxes.tolist() == tagged.boxes.tolist()
    assert bare.labels == tagged.labels == ["car", "car", "truck"]
    # the tagged form is read as before: text outside <box> is not searched for lists
    d = parse_detections("[[1, 2, 3, 4]] <box>[[100, 200, 300, 400]]</box>", dialect="internvl")
    assert d.boxes.tolist() == [[0.1, 0.2, 0.3, 0.4]]
    assert parse_detections("no box here", dialect="internvl").failed


# --- adversarial: never raises, bounded time --------------------------------------------------

_TOKENS = [
    "<loc",
    "<loc0",
    "0123>",
    "<loc_",
    "12>",
    "<patch_index_",
    "0044>",
    "<object>",
    "</object>",
    "<phrase>",
    "</phrase>",
    "</delimiter_of_multi_objects/>",
    "<|det|>",
    "<|/det|>",
    "<|ref|>",
    "<|/ref|>",
    "<|begin_of_box|>",
    "<|end_of_box|>",
    "<ref>",
    "</ref>",
    "<box>",
    "</box>",
    "<point",
    "<points",
    ' x="',
    ' x1="',
    ' y="',
    ' alt="',
    '"',
    ">",
    "</point>",
    "[",
    "]",
    "(",
    ")",
    "{",
    "}",
    ",",
    ";",
    " ",
    "1",
    "99",
    "1e999",
    "-3",
    "nan",
    '"box_2d": ',
    '"point": ',
    '"bbox_2d": ',
    "'Position': ",
    "\n",
    "é",
    "٣",
]
_adversarial_text = st.one_of(
    st.text(max_size=300), st.lists(st.sampled_from(_TOKENS), max_size=120).map("".join)
)


@pytest.mark.parametrize("dialect", [*DIALECT_NAMES, "auto"])
@settings(max_examples=150, deadline=None)
@given(text=_adversarial_text)
def test_arbitrary_text_never_raises(dialect: str, text: str) -> None:
    size = SIZE if dialect == "qwen25vl" else None
    if dialect == "auto" or DIALECTS[dialect].reads_boxes:
        d = parse_detections(text, dialect=dialect, image_size=size)
        assert d.boxes.shape[1] == 4 and ((d.boxes >= 0) & (d.boxes <= 1)).all()
        assert (d.boxes[:, 2] > d.boxes[:, 0]).all() and (d.boxes[:, 3] > d.boxes[:, 1]).all()
    if dialect == "auto" or DIALECTS[dialect].reads_points:
        p = parse_points(text, dialect=dialect, image_size=size)
        assert p.points.shape[1] == 2 and ((p.points >= 0) & (p.points <= 1)).all()


def _pathological(n: int) -> dict[str, str]:
    return {
        "loc tokens": "<loc0001>" * (n // 9),
        "loc prefixes": "<loc" * (n // 4),
        "florence tokens": "<loc_1>" * (n // 7),
        "patch objects": "<object><patch_index_0001>" * (n // 26),
        "unclosed objects": "<phrase>a</phrase><object>" * (n // 27),
        "det opens": "<|det|>[[" * (n // 9),
        "ref opens": "<|ref|>" * (n // 7),
        "box tags": "<box>" * (n // 5),
        "glm boxes": "<|begin_of_box|>[[1,2,3,4]]<|end_of_box|>" * (n // 41),
        "molmo points": '<point x="1" y="2">' * (n // 20),
        "molmo quotes": '<point x="' * (n // 10),
        "molmo equals": "<point " + "=" * n,
        "semicolons": "<loc0001><loc0002><loc0003><loc0004>" + ";" * n,
        "brackets": "<|det|>" + "[" * n,
    }


@pytest.mark.parametrize("dialect", [n for n in DIALECT_NAMES if n != "qwen25vl"] + ["auto"])
def test_pathological_answers_in_bounded_time(dialect: str) -> None:
    for name, text in _pathological(DEFAULT_MAX_ANSWER_CHARS - 100).items():
        for kind, parse in (("box", parse_detections), ("point", parse_points)):
            if dialect != "auto" and not (
                DIALECTS[dialect].reads_boxes if kind == "box" else DIALECTS[dialect].reads_points
            ):
                continue
            result, seconds = cpu_seconds(parse, text, dialect=dialect)
            assert seconds < 1.0, (dialect, name, kind, seconds)
            assert len(result) <= 1000


# --- batch == general ------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", BOX_DIALECTS)
def test_batch_equals_general_reader(dialect: str) -> None:
    rng = np.random.default_rng(7)
    answers: list[str | None] = [None, "", "No Objects", "garbage <loc <|det|>"]
    for _ in range(20):
        k = int(rng.integers(1, 4))
        corner = rng.uniform(0, 0.5, size=(k, 2))
        boxes = np.hstack([corner, corner + rng.uniform(0.1, 0.4, size=(k, 2))])
        answers.append(render_boxes(dialect, boxes, ["a b"] * k, image_size=SIZE))
    answers.append(answers[-1][: len(answers[-1]) // 2])  # truncated
    dialect_cfg = CoordConfig.from_options(DIALECTS[dialect].coords or "norm1000", SIZE)
    batch = parse_detections_batch(answers, dialect_cfg, dialect=dialect)
    offsets = batch.offsets
    for i, answer in enumerate(answers):
        one = parse_detections(answer, dialect=dialect, image_size=SIZE)
        rows = slice(offsets[i], offsets[i + 1])
        np.testing.assert_array_equal(batch.boxes[rows], one.boxes)
        np.testing.assert_array_equal(batch.raw_boxes[rows], one.raw_boxes)
        np.testing.assert_array_equal(batch.scores[rows], one.scores)
        assert batch.labels[rows] == one.labels
        assert (batch.n_invalid[i], batch.failed[i], batch.empty[i]) == (
            one.n_invalid,
            one.failed,
            one.empty,
        )
