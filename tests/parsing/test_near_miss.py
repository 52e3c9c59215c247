"""Near-miss outputs through the parsers: never raise, invariants hold, no phantom boxes."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from near_miss import near_miss_completions, valid_completions

from visual_rewards import parse_completion, parse_detections, parse_points


@settings(max_examples=1000, deadline=None)
@given(near_miss_completions())
def test_parsers_on_near_misses(case: tuple[str, str, list[list[int]]]) -> None:
    text, kind, _ = case
    c = parse_completion(text)
    if kind in ("nest_tag", "repeat_tags"):
        assert not c.format_ok or text.count("<answer>") == 1
    for coords in ("norm1000", "normalized"):
        d = parse_detections(c.answer, coords)
        assert d.boxes.shape == (len(d), 4)
        assert np.isfinite(d.boxes).all()
        assert ((d.boxes >= 0) & (d.boxes <= 1)).all()
        assert (d.boxes[:, 2] > d.boxes[:, 0]).all() and (d.boxes[:, 3] > d.boxes[:, 1]).all()
        p = parse_points(c.answer, coords)
        assert ((p.points >= 0) & (p.points <= 1)).all()


@settings(max_examples=500, deadline=None)
@given(valid_completions())
def test_valid_completions_parse_exactly(case: tuple[str, list[list[int]], str]) -> None:
    text, boxes, _ = case
    c = parse_completion(text)
    assert c.format_ok
    d = parse_detections(c.answer)
    assert d.raw_boxes.tolist() == [[float(v) for v in b] for b in boxes]
    assert d.n_invalid == 0


@settings(max_examples=1000, deadline=None)
@given(near_miss_completions())
def test_near_misses_never_invent_boxes(case: tuple[str, str, list[list[int]]]) -> None:
    """A mutation that only breaks things (look-alikes, quotes, tags, a cut) never makes a box
    that was not written; one that can rewrite a number (a deleted or extra character, a float
    limit, a duplicated span) changes at most the boxes at the places it touched."""
    text, kind, boxes = case
    written = {tuple(float(v) for v in b) for b in boxes}
    parsed = [
        tuple(b)
        for b in parse_detections(parse_completion(text).answer, "norm1000").raw_boxes.tolist()
    ]
    invented = set(b for b in parsed if b not in written)
    if kind in ("lookalike", "truncate", "swap_quotes", "nest_tag", "repeat_tags"):
        assert invented == set()
    elif kind == "duplicate_span":  # two junctions: each can splice two numbers into a new one
        assert len(invented) <= 2
    else:  # delete_char / extra_bracket / float_limit can turn one number into another
        assert len(invented) <= 1
