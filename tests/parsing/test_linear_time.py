"""No backtracking regular expression runs on model text: every pattern of the package is
registered here with the inputs that would make it super-linear, and each is timed on them.

A new pattern fails ``test_every_pattern_is_registered`` until it is added below with its
adversarial inputs (or listed as never seeing model text, with the reason). The paper's
format regex and answer extraction are not patterns of the package at all: they are decided
with ``str.find`` (``parsing/completion.py``).
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from timing import cpu_seconds

import visual_rewards

Family = Callable[[int], str]


def _rep(unit: str) -> Family:
    return lambda n: unit * (n // len(unit))


#: (module, name) -> inputs of about n characters on which a backtracking pattern would blow up.
#: Each is timed the way the package uses it: scanned (``finditer``/``search``), or, for the
#: patterns listed in ANCHORED, only matched at a given position (``match``/``fullmatch``).
MODEL_TEXT: dict[tuple[str, str], list[Family]] = {
    ("visual_rewards.parsing.answers", "_FENCE_RE"): [_rep("``"), _rep("```a")],
    ("visual_rewards.parsing.answers", "_DICT_ITEM_RE"): [_rep("{"), _rep("{a"), _rep("{}")],
    ("visual_rewards.parsing.answers", "_BOX_KEY_RE"): [
        _rep("'position': ["),
        _rep("box:"),
        _rep("bbox_2d '"),
    ],
    ("visual_rewards.parsing.answers", "_POINT_KEY_RE"): [_rep("point: ["), _rep("'point_2d'")],
    ("visual_rewards.parsing.answers", "_CONF_RE"): [_rep("confidence:"), _rep("'score': ")],
    ("visual_rewards.parsing.answers", "_LABEL_RE"): [
        _rep("label:'"),
        _rep("'label': '"),
        _rep('"name": "\\'),
        lambda n: "'label': '" + "'a" * (n // 2),
    ],
    ("visual_rewards.parsing.answers", "_QWEN2VL_RE"): [
        _rep("<|object_ref_start|>"),
        _rep("(1,"),
        _rep("(1,2),"),
        _rep("<|box_start|>(1,2)"),
    ],
    ("visual_rewards.parsing.answers", "_QWEN2VL_POINT_RE"): [_rep("(1,"), _rep("( 1 ,")],
    ("visual_rewards.parsing.answers", "_BARE_LIST_RE"): [_rep("["), _rep("[1,")],
    ("visual_rewards.parsing.answers", "_BARE_SEQ_RE"): [_rep("1,"), _rep("(1 , "), _rep("e")],
    ("visual_rewards.parsing.answers", "_FAST_VRFT_RE"): [
        _rep("{'Position': [1, 2, 3, 4], "),
        _rep("{ 'Position' : [ 1 ,"),
    ],
    ("visual_rewards.parsing.answers", "_FAST_BBOX_RE"): [
        _rep('{"bbox_2d": [1, 2, 3, 4], "label": "'),
        _rep('{"bbox_2d": [1,'),
    ],
    ("visual_rewards.parsing.numbers", "_NUMBER_RE"): [_rep("1"), _rep("1.e"), _rep("-")],
    ("visual_rewards.parsing.numbers", "_TOKEN_RE"): [_rep("1."), _rep("a1+"), _rep("+-")],
    ("visual_rewards.parsing.completion", "_SPACES_RE"): [_rep(" "), _rep(" x")],
    ("visual_rewards.geometry.labels", "_NON_WORD_RE"): [_rep(" _"), _rep("a_")],
    ("visual_rewards.rewards.paper", "_LISA_BOX_RE"): [
        _rep("(1,"),
        _rep("(1, 2),"),
        _rep("( 1 , 2 ) , ( 3 ,"),
        _rep("(" + " " * 5),
    ],
    ("visual_rewards.rewards.paper", "_LONG_NUMBER_RE"): [_rep("1"), _rep("12a")],
}
#: Patterns the package only ever matches at a position (an unanchored scan of them would be
#: quadratic on a run without a comma, so they must stay anchored).
ANCHORED = {
    ("visual_rewards.parsing.answers", "_BARE_SEQ_RE"),
    ("visual_rewards.parsing.numbers", "_NUMBER_RE"),
    ("visual_rewards.parsing.completion", "_SPACES_RE"),
}
#: Patterns that never see model text, with the reason.
NOT_MODEL_TEXT = {
    # applied to ground truth; its owner is switching to visual_rewards.parsing.unwrap_answer
    ("visual_rewards.evaluation.classification", "_ANSWER_RE"),
}
#: Modules whose patterns must all be module-level (so that this registry sees them).
CHECKED_SOURCES = ["parsing", "rewards", "geometry", "io", "targets.py"]


def _patterns() -> dict[tuple[str, str], re.Pattern[str]]:
    found: dict[tuple[str, str], re.Pattern[str]] = {}
    for info in pkgutil.walk_packages(visual_rewards.__path__, "visual_rewards."):
        try:
            module = importlib.import_module(info.name)
        except ImportError:  # an optional dependency (trl, verl) is missing
            continue
        for name, value in vars(module).items():
            if isinstance(value, re.Pattern):
                found[(info.name, name)] = value
    return found


def test_every_pattern_is_registered() -> None:
    unknown = set(_patterns()) - set(MODEL_TEXT) - NOT_MODEL_TEXT
    assert not unknown, f"register these patterns with their adversarial inputs: {unknown}"


def test_no_inline_pattern_in_the_model_text_path() -> None:
    """``re.search(r"...", text)`` inside a function would escape the registry."""
    root = Path(visual_rewards.__file__).parent
    files: list[Path] = []
    for source in CHECKED_SOURCES:
        path = root / source
        files += [path] if path.is_file() else sorted(path.rglob("*.py"))
    calls = {"search", "match", "fullmatch", "findall", "finditer", "sub", "subn", "split"}
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "re"
                and node.func.attr in calls
            ):
                pytest.fail(f"{path.name}:{node.lineno}: re.{node.func.attr} on a literal pattern")


def test_no_lazy_dotall_scan_outside_a_bounded_item() -> None:
    # `.*?` with DOTALL is how the paper's regexes went quadratic; the one left (labels) runs
    # on one item of at most 4096 characters, never on a whole answer.
    for key, pattern in _patterns().items():
        if key in MODEL_TEXT and key != ("visual_rewards.parsing.answers", "_LABEL_RE"):
            assert ".*?" not in pattern.pattern and ".+?" not in pattern.pattern, key


def _seconds(pattern: re.Pattern[str], text: str, anchored: bool) -> float:
    def run() -> None:
        if anchored:
            pattern.match(text)
            pattern.fullmatch(text)
        else:
            for _match in pattern.finditer(text):
                pass
            pattern.search(text)

    return min(cpu_seconds(run)[1] for _ in range(3))


def test_anchored_patterns_are_only_matched_at_a_position() -> None:
    root = Path(visual_rewards.__file__).parent
    for module, name in ANCHORED:
        path = root.joinpath(*module.split(".")[1:]).with_suffix(".py")
        text = path.read_text(encoding="utf-8")
        for use in (".search(", ".finditer(", ".findall(", ".sub(", ".split("):
            assert f"{name}{use}" not in text, (module, name, use)


@pytest.mark.parametrize(
    "key", sorted(MODEL_TEXT), ids=lambda k: f"{k[0].rsplit('.', 1)[1]}.{k[1]}"
)
def test_patterns_are_linear_on_their_adversarial_inputs(key: tuple[str, str]) -> None:
    pattern = _patterns()[key]
    small, large = 1 << 14, 1 << 16  # 4x the input: linear takes ~4x, quadratic 16x
    for family in MODEL_TEXT[key]:
        anchored = key in ANCHORED
        t_small = _seconds(pattern, family(small), anchored)
        t_large = _seconds(pattern, family(large), anchored)
        assert t_large < 8 * t_small + 0.005, (key, family(40), t_small, t_large)


def _scaling(fn: Callable[[str], object], family: Family) -> tuple[float, float]:
    def run(text: str) -> float:
        return min(cpu_seconds(fn, text)[1] for _ in range(3))

    return run(family(1 << 16)), run(family(1 << 18))


@pytest.mark.parametrize(
    ("name", "family"),
    [
        ("visual_rft_format_ok", lambda n: "<think>" + "</think><answer>" * (n // 16) + "x"),
        ("visual_rft_format_ok", lambda n: "<think>" + "</think> " * (n // 9) + "</answer>"),
        ("visual_rft_answer", _rep("<answer>")),
        ("visual_rft_answer", _rep("<answer>x\n")),
        ("visual_rft_answer", lambda n: "<answer>" * (n // 16) + "\n</answer>" * (n // 20)),
        ("unwrap_answer", _rep("<answer>")),
        ("has_visible_text", _rep("\u200b\u00ad \u0301")),
        ("parse_completion", lambda n: "<think>" + "</think><answer>" * (n // 16)),
    ],
)
def test_completion_checks_are_linear(name: str, family: Family) -> None:
    from visual_rewards.parsing import completion

    small, large = _scaling(getattr(completion, name), family)
    assert large < 8 * small + 0.005, (name, small, large)
