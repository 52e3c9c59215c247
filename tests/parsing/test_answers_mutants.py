"""The general reader item by item: every reason an item is dropped, the limits, each payload
shape, and the coordinate spaces of points -- each with the exact result, so that a changed
branch (``continue`` -> ``break``, ``>`` -> ``>=``) changes an assertion.
"""

from __future__ import annotations

import numpy as np
import pytest

from visual_rewards.parsing import answers, parse_detections, parse_detections_batch, parse_points
from visual_rewards.parsing.answers import fast_values, prepare_answer


def test_an_out_of_image_box_followed_by_a_valid_one() -> None:
    d = parse_detections(
        "[{'Position': [1100, 1100, 1200, 1300], 'Confidence': 0.9}, "
        "{'Position': [100, 200, 300, 400], 'Confidence': 0.8}]"
    )
    assert d.raw_boxes.tolist() == [[100.0, 200.0, 300.0, 400.0]]
    assert d.scores.tolist() == [0.8] and d.n_invalid == 1
    assert d.errors == ["box outside the image"]
    # and after a flipped one, and after an unreadable one
    d = parse_detections("[[300, 100, 100, 200], [x, 1, 2, 3], [10, 20, 30, 40], [0, 0, 0, 5]]")
    assert d.raw_boxes.tolist() == [[10.0, 20.0, 30.0, 40.0]]
    assert d.n_invalid == 3
    assert d.errors == [
        "flipped or zero-area box",
        "not a finite number: 'x'",
        "flipped or zero-area box",
    ]


@pytest.mark.parametrize("max_items", [1, 2, 5])
def test_exactly_max_items_and_one_more(max_items: int) -> None:
    def answer(n: int) -> str:
        return "[" + ", ".join(f"[{k}, 0, {k + 1}, 1]" for k in range(n)) + "]"

    at = parse_detections(answer(max_items), max_items=max_items)
    assert (len(at), at.overflow, at.errors) == (max_items, False, [])
    over = parse_detections(answer(max_items + 1), max_items=max_items)
    assert (len(over), over.overflow) == (max_items, True)
    assert over.errors == [f"more than {max_items} items"]
    many = parse_detections(answer(max_items + 5), max_items=max_items)
    assert (len(many), many.overflow) == (max_items, True)
    for style in (
        "{{'Position': [{k}, 0, {k1}, 1], 'Confidence': 0.5}}",
        '{{"bbox_2d": [{k}, 0, {k1}, 1]}}',
    ):
        items = [style.format(k=k, k1=k + 1) for k in range(max_items + 1)]
        d = parse_detections("[" + ", ".join(items) + "]", max_items=max_items)
        assert (len(d), d.overflow) == (max_items, True)
        d = parse_detections("[" + ", ".join(items[:-1]) + "]", max_items=max_items)
        assert (len(d), d.overflow) == (max_items, False)
    qwen = " ".join(f"({k},0),({k + 1},1)" for k in range(max_items + 1))
    d = parse_detections(qwen, max_items=max_items)
    assert (len(d), d.overflow) == (max_items, True)
    points = "[" + ", ".join(f'{{"point_2d": [{k}, 1]}}' for k in range(max_items + 1)) + "]"
    p = parse_points(points, max_items=max_items)
    assert (len(p), p.overflow) == (max_items, True)
    p = parse_points(" ".join(f"({k}, 1)" for k in range(max_items + 1)), max_items=max_items)
    assert (len(p), p.overflow) == (max_items, True)


@pytest.mark.parametrize(
    ("answer", "raw", "errors"),
    [
        ("[1, 2, 3, 4,]", [[1, 2, 3, 4]], []),  # trailing comma
        ("[1, 2, 3]", [], ["expected 4 numbers, got 3"]),
        ("[1, 2, 3, 4, 5]", [], ["expected 4 numbers, got more"]),
        ('["1", "2", "3", "4"]', [[1, 2, 3, 4]], []),  # quoted numbers
        ('["0.36, 0.2, 0.93, 0.78"]', [[0.36, 0.2, 0.93, 0.78]], []),
        ("[1, 2, 3, 4, 'cat']", [[1, 2, 3, 4]], []),  # a label last
        ("[1, 2, 3, 4, 'cat5']", [], ["expected 4 numbers, got more"]),  # not a label
        ("[1, 2, 3, inf]", [], ["not a finite number: 'inf'"]),
        ("[[1, 2, 3, 4], [5, 6, 7, 8", [[1, 2, 3, 4]], ["truncated item"]),
        ("1,2,3,4", [[1, 2, 3, 4]], []),
        ("(1, 2, 3, 4)", [[1, 2, 3, 4]], []),
        ("1,2,3", [], ["expected 4 numbers, got 3"]),
    ],
)
def test_bare_lists(answer: str, raw: list[list[float]], errors: list[str]) -> None:
    d = parse_detections(answer, "pixel", (100, 100))
    assert d.raw_boxes.tolist() == raw
    assert d.errors == errors and d.n_invalid == len(errors)


def test_bare_list_labels_and_skipped_lists() -> None:
    d = parse_detections("[[1, 2, 3, 4, 'hot dog'], [5, 6, 7, 8, \"cat\"]]", "pixel", (100, 100))
    assert d.labels == ["hot dog", "cat"]
    # a list of words inside a sentence is not a box
    d = parse_detections("I see ['No Objects'] and [10, 20, 30, 40]")
    assert d.raw_boxes.tolist() == [[10, 20, 30, 40]] and d.n_invalid == 0
    assert parse_detections("[ ] [10, 20, 30, 40]").raw_boxes.tolist() == [[10, 20, 30, 40]]
    long = "[" + ", ".join(["1"] * 2100) + "]"
    d = parse_detections(long)
    assert d.errors == ["item too long"] and d.failed is False


@pytest.mark.parametrize(
    ("answer", "errors", "n"),
    [
        ("[{'label': 'cat'}, {'Position': [1, 2, 3, 4]}]", ["item without coordinates"], 1),
        (
            "[{'Position': [1, 2, 3, 4], 'Confidence': 0.5}, {'Position': [5, 6",
            ["truncated item"],
            1,
        ),
        ("[{'Position': [1, 2, 3, 4], 'Confidence': 0.5}, {'label': 'x'", ["truncated item"], 1),
        (
            "[{'Position': [1, 2, 3, 4], 'Confidence': high}]",
            ["confidence is not a finite number: 'high'"],
            0,
        ),
        ("[{'Position': [1, 2, 3], 'Confidence': 0.5}]", ["expected 4 numbers, got 3"], 0),
        (
            "[{'Position': [1, 2, 3, 4], 'note': '"
            + "x" * 5000
            + "'}, {'Position': [5, 6, 7, 8]}]",
            ["item too long"],
            1,
        ),
    ],
)
def test_dict_items(answer: str, errors: list[str], n: int) -> None:
    d = parse_detections(answer)
    assert d.errors == errors and len(d) == n and d.n_invalid == len(errors)


def test_dict_item_fields() -> None:
    d = parse_detections(
        '[{"bbox": [10, 20, 30, 40], "score": "0.25", "category": "hot \\"dog\\""},'
        " {'box_2d': [50, 60, 70, 80], 'conf': 1, 'name': 'it\\'s'},"
        ' {"BOX": [1, 2, 3, 4], "class": ""}]'
    )
    assert d.raw_boxes.tolist() == [[10, 20, 30, 40], [50, 60, 70, 80], [1, 2, 3, 4]]
    np.testing.assert_array_equal(d.scores, [0.25, 1.0, np.nan])
    assert d.labels[:2] == ['hot "dog"', "it's"]
    assert d.labels[2] in (None, "")  # a blank label
    d = parse_detections(
        "[{'Position': [1, 2, 3, 4], 'Confidence': 0.5, 'label': '" + "a" * 300 + "'}]"
    )
    assert d.labels == ["a" * 256]  # labels are capped


def test_qwen2vl_boxes() -> None:
    d = parse_detections(
        "<|object_ref_start|>the dog<|object_ref_end|><|box_start|>(10,20),(300,400)<|box_end|> "
        "(5, 6), (7, 8) (1e999,1),(2,3)"
    )
    assert d.raw_boxes.tolist() == [[10, 20, 300, 400], [5, 6, 7, 8]]
    assert d.labels == ["the dog", None]
    assert d.errors == ["not a finite number"] and d.n_invalid == 1


@pytest.mark.parametrize(
    ("answer", "text", "empty"),
    [
        ("No Objects", "No Objects", True),
        (" ['no objects'] ", "['no objects']", True),
        ("[]", "[]", True),
        ("```json\n[]\n```", "[]", True),
        ("None.", "None.", True),
        ("'", "'", False),  # a lone quote is no explicit empty answer
        ("no objects found here", "no objects found here", False),
        ("[" + " " * 70 + "]", "[" + " " * 70 + "]", False),  # longer than 64 characters
        ("[" + " " * 62 + "]", "[" + " " * 62 + "]", True),  # 64 characters
        ("[" + " " * 63 + "]", "[" + " " * 63 + "]", False),  # 65 characters
    ],
)
def test_prepare_answer(answer: str, text: str, empty: bool) -> None:
    assert prepare_answer(answer, 1000) == (text, None, empty)


def test_prepare_answer_failures() -> None:
    assert prepare_answer(None, 10) == (None, "no answer", False)
    assert prepare_answer("x" * 11, 10) == (None, "answer longer than 10 characters", False)
    assert prepare_answer("x" * 10, 10) == ("x" * 10, None, False)
    assert prepare_answer("``` ```", 10) == (None, "empty answer", False)
    d = parse_detections("x" * 11, max_chars=10)
    assert d.failed and d.errors == ["answer longer than 10 characters"]
    assert parse_detections("  ").errors == ["empty answer"]
    assert parse_detections("a cat").errors == ["no boxes found"]


def test_points_in_every_space() -> None:
    p = parse_points(
        '[{"point_2d": [320, 240], "label": "cup"}, {"point_2d": [700, 100]}]', "pixel", (640, 480)
    )
    np.testing.assert_allclose(p.points, [[0.5, 0.5]])
    assert p.labels == ["cup"] and p.n_invalid == 1 and p.errors == ["point outside the image"]
    p = parse_points("(0.25, 0.5)", "normalized")
    np.testing.assert_allclose(p.points, [[0.25, 0.5]])
    p = parse_points("[500, 1000]")
    np.testing.assert_allclose(p.points, [[0.5, 1.0]])  # the edge is inside
    p = parse_points("[-1, 10]")
    assert len(p) == 0 and p.n_invalid == 1
    p = parse_points("(1e999, 5) (5, 5)")
    assert p.errors == ["not a finite number"] and len(p) == 1
    p = parse_points('[{"point": [1, 2, 3]}, {"position_2d": [100, 200]}]')
    assert p.errors == ["expected 2 numbers, got more"] and len(p) == 1
    assert parse_points(None).failed and parse_points("No Objects").empty
    assert parse_points("nothing").errors == ["no points found"]
    p = parse_points("[100, 200]", "qwen25vl", (640, 480))
    np.testing.assert_allclose(p.points, [[100 / 644, 200 / 476]])


def test_points_results_of_every_kind() -> None:
    p = parse_points(None)
    assert (p.failed, p.errors, p.points.shape, p.labels) == (True, ["no answer"], (0, 2), [])
    p = parse_points("x" * 20, max_chars=10)
    assert p.errors == ["answer longer than 10 characters"] and p.failed
    p = parse_points("No Objects")
    assert (p.empty, p.failed, p.errors, p.points.shape, len(p)) == (True, False, [], (0, 2), 0)
    p = parse_points("a cup")
    assert (p.failed, p.errors, p.points.shape) == (True, ["no points found"], (0, 2))
    # min_pixels and max_pixels reach the qwen25vl space
    p = parse_points("[14, 14]", "qwen25vl", (10, 10), min_pixels=28 * 28)
    np.testing.assert_allclose(p.points, [[0.5, 0.5]])  # a 28 x 28 canvas
    p = parse_points("[14, 14]", "qwen25vl", (10, 10))
    np.testing.assert_allclose(p.points, [[0.25, 0.25]])  # the default 56 x 56
    p = parse_points("[70, 14]", "qwen25vl", (1000, 100), max_pixels=28 * 28 * 4)
    np.testing.assert_allclose(p.points, [[70 / 168, 14 / 28]])  # 168 x 28
    d = parse_detections("[14, 14, 28, 28]", "qwen25vl", (10, 10), min_pixels=28 * 28)
    np.testing.assert_allclose(d.boxes, [[0.5, 0.5, 1.0, 1.0]])


def test_points_drop_every_unreadable_item_and_count_them_all() -> None:
    # a bad confidence drops a point whose numbers were read; the counts add up over the
    # unreadable items and the points outside the image
    p = parse_points(
        '[{"point_2d": [100, 200], "confidence": high}, {"point_2d": [1]},'
        ' {"point_2d": [300, 400], "label": "cup"}, {"point_2d": [2000, 5]}]'
    )
    np.testing.assert_allclose(p.points, [[0.3, 0.4]])
    assert p.labels == ["cup"] and p.n_invalid == 3
    assert p.errors == [
        "confidence is not a finite number: 'high'",
        "expected 2 numbers, got 1",
        "point outside the image",
    ]
    p = parse_points("[1, 2] [3, 4] [5, 6]", max_items=2)
    assert (len(p), p.overflow, p.errors) == (2, True, ["more than 2 items"])
    # the labels of a result without points are an empty list
    assert parse_points("No Objects").labels == []
    assert parse_points("a cup").labels == []


def test_points_in_a_dialect_get_every_argument() -> None:
    # qwen25vl writes pixels of the resized image: min_pixels/max_pixels decide the canvas
    p = parse_points('[{"point_2d": [14, 14]}]', dialect="qwen25vl", image_size=(10, 10))
    np.testing.assert_allclose(p.points, [[0.25, 0.25]])  # the default 56 x 56
    assert p.dialect == "qwen25vl" and not p.failed
    p = parse_points(
        '[{"point_2d": [14, 14]}]', dialect="qwen25vl", image_size=(10, 10), min_pixels=28 * 28
    )
    np.testing.assert_allclose(p.points, [[0.5, 0.5]])  # a 28 x 28 canvas
    p = parse_points(
        '[{"point_2d": [70, 14]}]',
        "qwen25vl",
        (1000, 100),
        dialect="qwen25vl",
        max_pixels=28 * 28 * 4,
    )
    np.testing.assert_allclose(p.points, [[70 / 168, 14 / 28]])  # 168 x 28
    text = '[{"point_2d": [70, 14]}, {"point_2d": [7, 14]}, {"point_2d": [1, 1]}]'
    p = parse_points(text, dialect="qwen25vl", image_size=(1000, 100), max_items=2)
    assert (len(p), p.overflow, p.errors) == (2, True, ["more than 2 items"])
    p = parse_points(text, dialect="qwen25vl", image_size=(1000, 100), max_chars=10)
    assert (p.failed, p.errors) == (True, ["answer longer than 10 characters"])


@pytest.mark.parametrize("quote", ["`", "x", " "])
def test_keys_quoted_with_another_character_are_not_the_canonical_list(quote: str) -> None:
    # only ' and " quote the keys of the canonical list; with another character the general
    # reader finds no Position key and reads the bare list, without a confidence (with spaces
    # it reads the key and its confidence)
    q = quote
    text = f"[{{{q}Position{q}: [1, 2, 3, 4], {q}Confidence{q}: 0.5}}]"
    d = parse_detections(text)
    b = parse_detections_batch([text])
    assert d.raw_boxes.tolist() == [[1.0, 2.0, 3.0, 4.0]] and d.errors == []
    assert b.counts.tolist() == [1] and b.n_invalid.tolist() == [0]
    if q == " ":
        assert d.scores.tolist() == [0.5] and b.scores.tolist() == [0.5]
    else:
        assert fast_values(text, 10) is None
        assert np.isnan(d.scores).all() and np.isnan(b.scores).all()


def test_the_canonical_list_reads_the_same_before_its_template_is_cached(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the canonical reader builds one template per shape on first use and caches it; the first
    # read of a shape (from an empty cache) and every later one give the same values
    monkeypatch.setattr(answers, "_TEMPLATES", {})
    for q in ("'", '"'):
        for n in (1, 3):
            items = [
                f"{{{q}Position{q}: [{k}, 2, {k + 10}, 40], {q}Confidence{q}: 0.5}}"
                for k in range(n)
            ]
            text = "[" + ", ".join(items) + "]"
            values = [v for k in range(n) for v in (k, 2.0, k + 10, 40.0, 0.5)]
            for _ in range(2):
                assert fast_values(text, 10) == (values, [None] * n)
                d = parse_detections(text)
                assert d.raw_boxes.tolist() == [[k, 2, k + 10, 40] for k in range(n)]
                assert d.scores.tolist() == [0.5] * n and d.errors == []


def test_error_messages_and_labels_of_bare_lists() -> None:
    d = parse_detections("[1, 2, 3, abcdefghijklmnopqrstuvwxyz]")
    assert d.errors == ["not a finite number: 'abcdefghijklmnopqrst'"]  # cut at 20 characters
    d = parse_detections("[10, 20, 30, 40, 'cat' ]")  # spaces after the label
    assert d.raw_boxes.tolist() == [[10, 20, 30, 40]] and d.labels == ["cat"] and d.errors == []


def test_dict_items_at_the_limits() -> None:
    # an item of exactly 4096 characters is read; one character more is too long
    head, tail = "{'Position': [1, 2, 3, 4], 'Confidence': 0.5, 'note': '", "'}"
    other = "{'Position': [5, 6, 7, 8], 'Confidence': 0.7}"
    for size, raw, errors in (
        (4096, [[1, 2, 3, 4], [5, 6, 7, 8]], []),
        (4097, [[5, 6, 7, 8]], ["item too long"]),
    ):
        item = head + "x" * (size - len(head) - len(tail)) + tail
        assert len(item) == size
        d = parse_detections("[" + item + ", " + other + "]")
        assert d.raw_boxes.tolist() == raw and d.errors == errors
    # a confidence is a number, quotes aside: other characters make it unreadable
    d = parse_detections("[{'Position': [1, 2, 3, 4], 'Confidence': X0.5}]")
    assert d.errors == ["confidence is not a finite number: 'X0.5'"] and len(d) == 0
    d = parse_detections("[{'Position': [1, 2, 3, 4], 'Confidence': abcdefghijklmnopqrstuvwxyz}]")
    assert d.errors == ["confidence is not a finite number: 'abcdefghijklmnopqrst'"]
    # dicts without coordinates: up to max_items + 1 of them, the reader looks further; past
    # that, the answer overflows and its items are the dicts
    d = parse_detections("[{'label': 'a'}, {'label': 'b'}] [1, 2, 3, 4]", max_items=1)
    assert (d.raw_boxes.tolist(), d.overflow, d.errors) == ([[1, 2, 3, 4]], False, [])
    d = parse_detections(
        "[{'label': 'a'}, {'label': 'b'}, {'label': 'c'}] [1, 2, 3, 4]", max_items=1
    )
    assert (len(d), d.overflow, d.n_invalid) == (0, True, 1)
    assert d.errors == ["more than 1 items", "item without coordinates"]


@pytest.mark.parametrize(
    "answer",
    [
        "(1,2),(3,4)",
        "[1, 2, 3, 4]",
        "1,2,3,4",
        "[{'Position': [1, 2, 3, 4], 'Confidence': 0.5}]",
        "[{'Position':[1,2,3,4]}]",
        '[{"bbox_2d": [1, 2, 3, 4]}]',
    ],
)
def test_max_items_zero_reads_no_item_from_any_payload(answer: str) -> None:
    d = parse_detections(answer, max_items=0)
    assert (len(d), d.overflow, d.failed, d.errors) == (0, True, False, ["more than 0 items"])
    b = parse_detections_batch([answer], max_items=0)
    assert (b.counts.tolist(), b.overflow.tolist(), b.failed.tolist()) == ([0], [True], [False])


@pytest.mark.parametrize(
    "answer", ["(1, 2)", "(1, 2) (3, 4)", "[1, 2]", '[{"point_2d": [1, 2]}]', "1, 2"]
)
def test_max_items_zero_reads_no_point(answer: str) -> None:
    p = parse_points(answer, max_items=0)
    assert (len(p), p.overflow, p.failed, p.errors) == (0, True, False, ["more than 0 items"])


def test_zero_area_boxes_along_each_axis() -> None:
    # a box with no width or no height is refused as written, before it is normalised
    for box in ("[10, 20, 10, 40]", "[10, 20, 30, 20]"):
        d = parse_detections(box)
        assert (len(d), d.n_invalid, d.errors) == (0, 1, ["flipped or zero-area box"])


def test_boxes_in_a_dialect_get_every_argument() -> None:
    box = '[{"bbox_2d": [14, 14, 28, 28]}]'
    d = parse_detections(box, dialect="qwen25vl", image_size=(10, 10))
    np.testing.assert_allclose(d.boxes, [[0.25, 0.25, 0.5, 0.5]])  # the default 56 x 56
    assert d.dialect == "qwen25vl" and d.raw_boxes.tolist() == [[14, 14, 28, 28]]
    d = parse_detections(box, dialect="qwen25vl", image_size=(10, 10), min_pixels=28 * 28)
    np.testing.assert_allclose(d.boxes, [[0.5, 0.5, 1.0, 1.0]])  # a 28 x 28 canvas
    d = parse_detections(
        '[{"bbox_2d": [70, 14, 140, 28]}]',
        "qwen25vl",
        (1000, 100),
        dialect="qwen25vl",
        max_pixels=28 * 28 * 4,
    )
    np.testing.assert_allclose(d.boxes, [[70 / 168, 0.5, 140 / 168, 1.0]])  # 168 x 28
    text = '[{"bbox_2d": [1, 1, 2, 2]}, {"bbox_2d": [3, 3, 4, 4]}, {"bbox_2d": [5, 5, 6, 6]}]'
    d = parse_detections(text, dialect="qwen25vl", image_size=(1000, 100), max_items=2)
    assert (len(d), d.overflow, d.errors) == (2, True, ["more than 2 items"])
    d = parse_detections(text, dialect="qwen25vl", image_size=(1000, 100), max_chars=10)
    assert (d.failed, d.errors) == (True, ["answer longer than 10 characters"])


def test_max_pixels_reaches_the_qwen25vl_space_of_boxes() -> None:
    d = parse_detections("[70, 14, 140, 28]", "qwen25vl", (1000, 100), max_pixels=28 * 28 * 4)
    np.testing.assert_allclose(d.boxes, [[70 / 168, 0.5, 140 / 168, 1.0]])  # 168 x 28


def test_bare_lists_skipped_and_refused() -> None:
    # a list with a number or a comma is an item, refused when it is not a box; one with
    # neither is text, and skipped
    d = parse_detections("[1, 2, 3, 4] [5] [a, b] ['cat']")
    assert d.raw_boxes.tolist() == [[1, 2, 3, 4]]
    assert d.errors == ["expected 4 numbers, got 1", "expected 4 numbers, got 2"]
    # a list of exactly 4096 characters is read, a longer one is refused and reading goes on
    exact = "[1, 2, 3, 4" + " " * (4096 - 10) + "]"
    assert len(exact) == 4096 + 2
    d = parse_detections(exact)
    assert (d.raw_boxes.tolist(), d.errors) == ([[1, 2, 3, 4]], [])
    d = parse_detections("[" + "1, " * 1400 + "1] [5, 6, 7, 8]")
    assert (d.raw_boxes.tolist(), d.errors) == ([[5, 6, 7, 8]], ["item too long"])


def test_an_answer_cut_inside_its_only_item_is_read_not_failed() -> None:
    d = parse_detections("[{'Position': [1, 2")
    assert (len(d), d.failed, d.n_invalid, d.errors) == (0, False, 1, ["truncated item"])
    p = parse_points('[{"point_2d": [1')
    assert (len(p), p.failed, p.n_invalid, p.errors) == (0, False, 1, ["truncated item"])


@pytest.mark.parametrize(
    "answer",
    [
        "[{'Position': [100, 200, 300, 400], 'Confidence': 0.9}]",
        '[{"bbox_2d": [100, 200, 300, 400], "label": "cup"}]',
    ],
)
def test_box_payloads_are_no_points(answer: str) -> None:
    # the fast path of boxes is for boxes only: read as points, four numbers are refused
    p = parse_points(answer)
    assert (len(p), p.n_invalid, p.errors) == (0, 1, ["expected 2 numbers, got more"])


def test_a_bare_sequence_is_read_up_to_4096_characters() -> None:
    exact = "1, 2, 3," + " " * (4096 - 9) + "4"
    assert len(exact) == 4096
    d = parse_detections(exact)
    assert (d.raw_boxes.tolist(), d.errors, d.failed) == ([[1, 2, 3, 4]], [], False)
    longer = "1, 2, 3, " + exact[8:]
    assert len(longer) == 4097
    d = parse_detections(longer)
    assert (len(d), d.errors, d.failed) == (0, ["no boxes found"], True)


def test_five_items_with_one_number_are_read_without_error() -> None:
    # five items and a single number anywhere: not a canonical list of five boxes (which has
    # 25 numbers), read by the general reader without raising
    text = (
        "[{'label': 'a'}, {'label': 'b'}, {'label': 'c'}, {'label': 'd'}, {'label': 'e', 'n': 5}]"
    )
    d = parse_detections(text)
    assert (len(d), d.failed, d.errors) == (0, True, ["no boxes found"])
    b = parse_detections_batch([text])
    assert (b.counts.tolist(), b.failed.tolist()) == ([0], [True])


def test_the_text_of_a_label_is_no_confidence() -> None:
    # a well-formed Qwen answer: the label is read whole and the box has no confidence, even
    # when the label's text looks like one; the general reader, which reads the answer when
    # another item is malformed, reads the same item the same way (it used to find "score: 5"
    # inside the label)
    for label in ("score: 5", "conf: high"):
        text = f'[{{"bbox_2d": [1, 2, 3, 4], "label": "{label}"}}]'
        d = parse_detections(text)
        assert d.raw_boxes.tolist() == [[1, 2, 3, 4]] and d.labels == [label]
        assert np.isnan(d.scores).all() and d.errors == []
        b = parse_detections_batch([text])
        assert b.counts.tolist() == [1] and np.isnan(b.scores).all()
        general = parse_detections(text[:-1] + ', {"bbox_2d": [5]}]')
        assert general.raw_boxes.tolist() == [[1, 2, 3, 4]] and general.labels == [label]
        assert np.isnan(general.scores).all() and general.n_invalid == 1
    # a confidence after the label is still read
    d = parse_detections('[{"bbox_2d": [1, 2, 3, 4], "label": "score: 5", "score": 0.7}, {}]')
    assert d.scores.tolist() == [0.7] and d.labels == ["score: 5"]
