"""Grounding dialects: how each vision-language model family writes boxes and points.

A **dialect** states everything needed to read (and write) one family's grounding output:
the syntax of a box and of a point, the axis order, the scale the numbers are on, how a label
attaches, the special tokens, whether the image size is needed, how to prompt for it, and
where the convention is defined. :data:`DIALECTS` is the one registry; readers live in
:mod:`~visual_rewards.parsing.dialect_readers`, renderers in
:mod:`~visual_rewards.parsing.dialect_render`.

Several dialects look alike but differ in axis order or scale (Gemini's ``box_2d`` is
``[ymin, xmin, ymax, xmax]``; GLM's GUI prompts use ``box_2d`` x-first; Qwen2.5-VL's
``bbox_2d`` is in resized pixels and Qwen3-VL's on 0–1000), so the dialect is never guessed
from such text: :func:`detect_dialect` names a family only when the text carries a special
token that belongs to that family alone.

>>> get_dialect("paligemma").axis_order, get_dialect("paligemma").scale
('yx', 'bins1024')
>>> detect_dialect("<|ref|>cat<|/ref|><|det|>[[1, 2, 3, 4]]<|/det|>")
'deepseek_vl2'
>>> detect_dialect('[{"bbox_2d": [1, 2, 3, 4]}]') is None
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from visual_rewards.geometry.coords import CoordSpace

__all__ = [
    "AUTO",
    "DIALECTS",
    "DIALECT_NAMES",
    "Dialect",
    "DialectName",
    "Scale",
    "detect_dialect",
    "get_dialect",
]

DialectName = Literal[
    "visual_rft",
    "qwen2vl",
    "qwen25vl",
    "qwen3vl",
    "internvl",
    "deepseek_vl2",
    "glm4v",
    "paligemma",
    "florence2",
    "gemini",
    "molmo",
    "kosmos2",
    "minicpmv",
]
#: The one list of dialect names (for argparse ``choices``, validation, docs).
DIALECT_NAMES: tuple[str, ...] = get_args(DialectName)
#: The name that asks :func:`detect_dialect` to identify the family from the text.
AUTO = "auto"

Scale = Literal[
    "norm1000",  # 0-1000 of the image side, v / 1000
    "norm999",  # 0-999, v / 999 (the far edge is 999)
    "bins1000",  # 1000 bins, bin centres: (v + 0.5) / 1000
    "bins1024",  # 1024 tokens 0..1023 on the grid v / 1023 (both edges)
    "unit",  # 0-1
    "percent",  # 0-100
    "pixel",  # pixels of the original image
    "resized_pixel",  # pixels of the image after the processor's smart-resize
    "patch_grid",  # cell indices of a 32x32 grid
]


@dataclass(frozen=True, slots=True)
class Dialect:
    """One family's grounding convention.

    Attributes:
        name: the registry name (``dialect=`` everywhere).
        models: the model family it belongs to.
        box_syntax: how one labelled box is written (``None``: the family writes no boxes).
        point_syntax: how one labelled point is written (``None``: no points).
        axis_order: ``"xy"`` (x first) or ``"yx"`` (y first, as PaliGemma and Gemini).
        scale: what the numbers measure (see :data:`Scale`).
        labels: how a label attaches to its box or point.
        special_tokens: the tokens the syntax uses.
        needs_image_size: the image's ``(width, height)`` is needed to normalise.
        box_prompt: an instruction that asks the model for boxes in this dialect (``{}`` is
            the object); ``None`` where the family writes no boxes.
        point_prompt: the same for points.
        source: where the convention is defined (the model's own code or documentation).
        markers: substrings that belong to this family alone; :func:`detect_dialect` picks the
            dialect when one of them occurs (empty: never picked automatically).
        coords: for dialects read by the general reader, the coordinate space of
            :mod:`visual_rewards.geometry.coords` its numbers are in (``None`` otherwise).
    """

    name: str
    models: str
    box_syntax: str | None
    point_syntax: str | None
    axis_order: Literal["xy", "yx"]
    scale: Scale
    labels: str
    special_tokens: tuple[str, ...]
    needs_image_size: bool
    box_prompt: str | None
    point_prompt: str | None
    source: str
    markers: tuple[str, ...] = ()
    coords: CoordSpace | None = None

    @property
    def reads_boxes(self) -> bool:
        """Whether the family writes boxes."""
        return self.box_syntax is not None

    @property
    def reads_points(self) -> bool:
        """Whether the family writes points."""
        return self.point_syntax is not None


_JSON_PROMPT = (
    "Locate every {} in the image and output the boxes in JSON format: "
    '[{{"bbox_2d": [x1, y1, x2, y2], "label": "..."}}]'
)

DIALECTS: dict[str, Dialect] = {
    d.name: d
    for d in (
        Dialect(
            name="visual_rft",
            models="Visual-RFT (Qwen2-VL recipe)",
            box_syntax="[{'Position': [x1, y1, x2, y2], 'Confidence': 0.9}]",
            point_syntax=None,
            axis_order="xy",
            scale="norm1000",
            labels="none (one category per question); a 'Confidence' per box",
            special_tokens=(),
            needs_image_size=False,
            box_prompt=(
                "Detect all objects belonging to the category '{}' in the image, and provide "
                "the bounding boxes (between 0 and 1000, integer) and confidence (between 0 "
                "and 1, with two decimal places)."
            ),
            point_prompt=None,
            source="Liuziyu77/Visual-RFT: the detection prompt and its reward code",
            coords="norm1000",
        ),
        Dialect(
            name="qwen2vl",
            models="Qwen2-VL",
            box_syntax=(
                "<|object_ref_start|>cat<|object_ref_end|><|box_start|>(x1,y1),(x2,y2)<|box_end|>"
            ),
            point_syntax=None,
            axis_order="xy",
            scale="norm1000",
            labels="the <|object_ref_start|>…<|object_ref_end|> phrase before the box",
            special_tokens=(
                "<|object_ref_start|>",
                "<|object_ref_end|>",
                "<|box_start|>",
                "<|box_end|>",
            ),
            needs_image_size=False,
            box_prompt="Detect the bounding box of {}.",
            point_prompt=None,
            source="QwenLM/Qwen2-VL README (grounding: coordinates normalised to [0, 1000))",
            coords="norm1000",
        ),
        Dialect(
            name="qwen25vl",
            models="Qwen2.5-VL",
            box_syntax='[{"bbox_2d": [x1, y1, x2, y2], "label": "cat"}]',
            point_syntax='[{"point_2d": [x, y], "label": "cat"}]',
            axis_order="xy",
            scale="resized_pixel",
            labels='"label" key of each JSON object',
            special_tokens=(),
            needs_image_size=True,
            box_prompt=_JSON_PROMPT,
            point_prompt=(
                'Point to every {} in the image, output JSON: [{{"point_2d": [x, y], "label": "..."}}]'
            ),
            source=(
                "QwenLM/Qwen2.5-VL cookbooks/spatial_understanding (absolute coordinates of the "
                "smart-resized input); transformers models/qwen2_vl/image_processing_qwen2_vl.py "
                "smart_resize"
            ),
            coords="qwen25vl",
        ),
        Dialect(
            name="qwen3vl",
            models="Qwen3-VL",
            box_syntax='[{"bbox_2d": [x1, y1, x2, y2], "label": "cat"}]',
            point_syntax='[{"point_2d": [x, y], "label": "cat"}]',
            axis_order="xy",
            scale="norm1000",
            labels='"label" key of each JSON object',
            special_tokens=(),
            needs_image_size=False,
            box_prompt=_JSON_PROMPT,
            point_prompt=(
                'Point to every {} in the image, output JSON: [{{"point_2d": [x, y], "label": "..."}}]'
            ),
            source=(
                "QwenLM/Qwen3-VL evaluation/ODinW-13/run_odinw.py (relative boxes / 1000 * size)"
            ),
            coords="norm1000",
        ),
        Dialect(
            name="internvl",
            models="InternVL 2 / 2.5 / 3",
            box_syntax="<ref>cat</ref><box>[[x1, y1, x2, y2]]</box>",
            point_syntax=None,
            axis_order="xy",
            scale="norm1000",
            labels="the <ref>…</ref> phrase before <box>; one <box> may hold several [[…], […]]",
            special_tokens=("<ref>", "</ref>", "<box>", "</box>"),
            needs_image_size=False,
            box_prompt=(
                "Please provide the bounding box coordinate of the region this sentence "
                "describes: <ref>{}</ref>"
            ),
            point_prompt=None,
            source=(
                "OpenGVLab/InternVL internvl_chat/eval/refcoco/evaluate_grounding.py "
                "(predict_bbox / 1000 * size)"
            ),
        ),
        Dialect(
            name="deepseek_vl2",
            models="DeepSeek-VL2",
            box_syntax="<|ref|>cat<|/ref|><|det|>[[x1, y1, x2, y2]]<|/det|>",
            point_syntax=None,
            axis_order="xy",
            scale="norm999",
            labels="the <|ref|>…<|/ref|> phrase before <|det|>; one <|det|> may hold several boxes",
            special_tokens=("<|ref|>", "<|/ref|>", "<|det|>", "<|/det|>", "<|grounding|>"),
            needs_image_size=False,
            box_prompt="<|grounding|>Locate <|ref|>{}<|/ref|> in the given image.",
            point_prompt=None,
            source=(
                "deepseek-ai/DeepSeek-VL2 deepseek_vl2/serve/app_modules/utils.py parse_ref_bbox "
                "(box / 999 * size)"
            ),
            markers=("<|det|>",),
        ),
        Dialect(
            name="glm4v",
            models="GLM-4.1V-Thinking / GLM-4.5V / GLM-4.6V",
            box_syntax="<|begin_of_box|>[[x1, y1, x2, y2]]<|end_of_box|>",
            point_syntax="<|begin_of_box|>[x, y]<|end_of_box|>",
            axis_order="xy",
            scale="norm1000",
            labels="none: the box tokens hold only coordinates (the phrase is in the text)",
            special_tokens=("<|begin_of_box|>", "<|end_of_box|>"),
            needs_image_size=False,
            box_prompt=(
                "Please pinpoint the bounding box [[x1,y1,x2,y2], …] in the image as per the "
                "given description. {}"
            ),
            point_prompt="Point to the {} in the image and give its coordinates [x, y].",
            source=(
                "THUDM/GLM-4.1V-Thinking README 'Grounding' (each value normalised and scaled by "
                "1000; brackets may vary) and examples/gui-agent (integers 0-999, a per-mille ratio)"
            ),
            markers=("<|begin_of_box|>",),
        ),
        Dialect(
            name="paligemma",
            models="PaliGemma / PaliGemma 2",
            box_syntax="<locY1><locX1><locY2><locX2> cat ; <loc…>… dog",
            point_syntax=None,
            axis_order="yx",
            scale="bins1024",
            labels="the text after the four location tokens, items separated by ' ; '",
            special_tokens=("<loc0000>", "…", "<loc1023>"),
            needs_image_size=False,
            box_prompt="detect {}",
            point_prompt=None,
            source=(
                "google-research/big_vision big_vision/evaluators/proj/paligemma/transfers/"
                "segmentation.py (tokens / 1023) and pp/proj/paligemma/segmentation.py "
                "(round(box * 1023))"
            ),
            markers=("<loc0", "<loc1"),
        ),
        Dialect(
            name="florence2",
            models="Florence-2",
            box_syntax="cat<loc_x1><loc_y1><loc_x2><loc_y2>",
            point_syntax=None,
            axis_order="xy",
            scale="bins1000",
            labels="the phrase before the location tokens; several boxes may follow one phrase",
            special_tokens=("<loc_0>", "…", "<loc_999>"),
            needs_image_size=False,
            box_prompt="<OD>",
            point_prompt=None,
            source=(
                "transformers models/florence2/processing_florence2.py Florence2PostProcessor "
                "(quantize: floor; dequantize: (bin + 0.5) * size / 1000)"
            ),
            markers=("<loc_",),
        ),
        Dialect(
            name="gemini",
            models="Gemini 2.0 / 2.5",
            box_syntax='[{"box_2d": [ymin, xmin, ymax, xmax], "label": "cat"}]',
            point_syntax='[{"point": [y, x], "label": "cat"}]',
            axis_order="yx",
            scale="norm1000",
            labels='"label" key of each JSON object',
            special_tokens=(),
            needs_image_size=False,
            box_prompt=(
                "Detect every {} in the image. Output a JSON list where each entry contains "
                'the 2D bounding box in "box_2d" and a text label in "label".'
            ),
            point_prompt=(
                "Point to every {} in the image. The answer should follow the JSON format: "
                '[{{"point": [y, x], "label": "..."}}]. The points are in [y, x] format '
                "normalized to 0-1000."
            ),
            source=(
                "Gemini API docs 'Image understanding: object detection' ([ymin, xmin, ymax, "
                "xmax] normalised to 0-1000); roboflow/supervision supervision/detection/vlm.py "
                "from_google_gemini_2_0"
            ),
            coords="norm1000",
        ),
        Dialect(
            name="molmo",
            models="Molmo",
            box_syntax='<points x1="x1" y1="y1" x2="x2" y2="y2" alt="cat">cat</points>',
            point_syntax='<point x="61.5" y="40.6" alt="cat">cat</point>',
            axis_order="xy",
            scale="percent",
            labels="the text inside the tag (or its alt attribute)",
            special_tokens=("<point", "<points", "</point>", "</points>"),
            needs_image_size=False,
            box_prompt="Point to the top-left and bottom-right corners of each {}.",
            point_prompt="Point to every {}.",
            source=(
                "allenai/molmo olmo/data/data_formatter.py points_to_text (percent, one decimal) "
                "and olmo/util.py extract_points / extract_bboxes (consecutive point pairs)"
            ),
            markers=('<point x="', '<points x1="'),
        ),
        Dialect(
            name="kosmos2",
            models="Kosmos-2",
            box_syntax=(
                "<phrase>cat</phrase><object><patch_index_0044><patch_index_0863></object>"
            ),
            point_syntax=None,
            axis_order="xy",
            scale="patch_grid",
            labels="the <phrase>…</phrase> before <object>",
            special_tokens=(
                "<grounding>",
                "<phrase>",
                "</phrase>",
                "<object>",
                "</object>",
                "</delimiter_of_multi_objects/>",
                "<patch_index_0000>",
                "…",
                "<patch_index_1023>",
            ),
            needs_image_size=False,
            box_prompt="<grounding><phrase> {}</phrase>",
            point_prompt=None,
            source=(
                "transformers models/kosmos2/processing_kosmos2.py patch_index_to_coordinate "
                "(32x32 grid; cell centres, or cell edges when both corners share a row or column)"
            ),
            markers=("<patch_index_",),
        ),
        Dialect(
            name="minicpmv",
            models="MiniCPM-V 2.x / 4.x",
            box_syntax="<ref>cat</ref><box>x1 y1 x2 y2</box>",
            point_syntax=None,
            axis_order="xy",
            scale="norm1000",
            labels="the <ref>…</ref> phrase before <box>",
            special_tokens=("<ref>", "</ref>", "<box>", "</box>"),
            needs_image_size=False,
            box_prompt=(
                "Please provide the bounding box coordinate of the region this sentence "
                "describes: <ref>{}</ref>"
            ),
            point_prompt=None,
            source=(
                "OpenBMB/MiniCPM-V issue #982 (maintainer: '<box>x1 y1 x2 y2</box>', normalised "
                "to 1000); OpenSQZ/MiniCPM-V-CookBook issue #39"
            ),
        ),
    )
}
assert tuple(DIALECTS) == DIALECT_NAMES


def get_dialect(name: str) -> Dialect:
    """The dialect called ``name``.

    Raises:
        ValueError: for an unknown name (the message lists the known ones).

    >>> get_dialect("florence2").scale
    'bins1000'
    """
    dialect = DIALECTS.get(name)
    if dialect is None:
        raise ValueError(f"unknown dialect {name!r}; known: {', '.join(DIALECT_NAMES)}, or 'auto'")
    return dialect


def detect_dialect(text: str) -> str | None:
    """The dialect of ``text`` when a special token names one family alone, else None.

    Only unique tokens count (``<loc0123>``, ``<loc_12>``, ``<patch_index_0001>``, ``<|det|>``,
    ``<|begin_of_box|>``, ``<point x="``); text that carries the markers of two families, or
    none, gives None: a look-alike format (``bbox_2d``, ``box_2d``, ``<box>``, plain lists) is
    never guessed. Linear in the text (``str.find`` only).

    >>> detect_dialect("car<loc_52><loc_333><loc_932><loc_774>")
    'florence2'
    >>> detect_dialect("<loc0256><loc0256><loc0768><loc0768> cat")
    'paligemma'
    >>> detect_dialect("<box>[[1, 2, 3, 4]]</box>") is None
    True
    """
    found = [d.name for d in DIALECTS.values() if any(m in text for m in d.markers)]
    return found[0] if len(found) == 1 else None
