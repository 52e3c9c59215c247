"""Golden tables: public model outputs per dialect, with the boxes they hold written out by hand.

Each row gives the string exactly as published, where it was published, and the normalised
``xyxy`` boxes computed by hand from the family's own post-processing rule (the divisor, the
axis order, the bin centres). ``kind`` says what the string is: a model's output (rollout log,
issue thread, model card, a notebook's stored cell output, transformers docstring or test) or
the documented example of the format (kept for every family; for MiniCPM-V, and for Molmo's
boxes, no raw output was found published). Molmo's published outputs are points:
``GOLDEN_POINTS``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from visual_rewards.parsing import parse_detections, parse_points

OUTPUT, EXAMPLE = "model output", "documented example"


@dataclass(frozen=True)
class Golden:
    dialect: str
    text: str
    boxes: list[list[float]]  # normalised xyxy, by hand
    labels: list[str | None]
    source: str
    kind: str = OUTPUT
    n_invalid: int = 0
    image_size: tuple[int, int] | None = None
    raw: list[list[float]] | None = None  # the numbers as written, x first


GOLDEN = [
    Golden(
        "visual_rft",
        "[{'Position': [427, 291, 498, 363], 'Confidence': 1}, "
        "{'Position': [429, 266, 507, 319], 'Confidence': 1}]",
        [[0.427, 0.291, 0.498, 0.363], [0.429, 0.266, 0.507, 0.319]],
        [None, None],
        "https://github.com/Liuziyu77/Visual-RFT/issues/245 (Qwen3-VL-8B rollout in the "
        "Visual-RFT format, comment of 2025-11-25)",
    ),
    Golden(
        "qwen2vl",
        "<|object_ref_start|>击掌<|object_ref_end|><|box_start|>(531,516),(581,596)<|box_end|>"
        "<|im_end|>",
        [[0.531, 0.516, 0.581, 0.596]],
        ["击掌"],
        "https://github.com/QwenLM/Qwen3-VL/issues/9 (Qwen2-VL output, comment of 2024-09-26)",
    ),
    Golden(
        "qwen25vl",
        '\n{"bbox_2d": [0, 0, 643, 476], "label": "no discernible pattern or color"}\n',
        # a 640x480 image is seen as 644x476 (smart_resize); the model's full-image box in the
        # same log, [0, 0, 644, 476], is that resized extent
        [[0.0, 0.0, 643 / 644, 1.0]],
        ["no discernible pattern or color"],
        "https://github.com/om-ai-lab/VLM-R1/issues/44 (Qwen2.5-VL-3B GRPO debug log)",
        image_size=(640, 480),
        raw=[[0, 0, 643, 476]],
    ),
    Golden(
        "qwen25vl",
        '[\n{"bbox_2d": [0, 0, 644, 476], "label": "standing woman next to guy in longsleeved '
        'blue shirt"}\n]',
        [[0.0, 0.0, 1.0, 1.0]],
        ["standing woman next to guy in longsleeved blue shirt"],
        "https://github.com/om-ai-lab/VLM-R1/issues/44 (Qwen2.5-VL-3B GRPO debug log)",
        image_size=(640, 480),
    ),
    Golden(
        "qwen25vl",
        '{"bbox_2d": [368, 1, 475, 330], "label": "man wearing blue shirt and shorts"}',
        [[368 / 644, 1 / 476, 475 / 644, 330 / 476]],
        ["man wearing blue shirt and shorts"],
        "https://github.com/om-ai-lab/VLM-R1/issues/99 (Qwen2.5-VL output after R1 training; "
        "image size as the RefCOCO images of the same log)",
        image_size=(640, 480),
        raw=[[368, 1, 475, 330]],
    ),
    Golden(
        "qwen3vl",
        'json\n[\n    {"bbox_2d": [323, 118, 444, 825], "label": "watch"},\n'
        '    {"bbox_2d": [444, 118, 565, 825], "label": "watch"},\n'
        '    {"bbox_2d": [565, 118, 686, 825], "label": "watch"},\n'
        '    {"bbox_2d": [686, 118, 807, 825], "label": "watch"}\n]',
        [
            [0.323, 0.118, 0.444, 0.825],
            [0.444, 0.118, 0.565, 0.825],
            [0.565, 0.118, 0.686, 0.825],
            [0.686, 0.118, 0.807, 0.825],
        ],
        ["watch"] * 4,
        "https://github.com/QwenLM/Qwen3-VL/issues/2020 (Qwen3-VL-235B output)",
    ),
    Golden(
        "deepseek_vl2",
        "<|ref|>The giraffe at the back.<|/ref|><|det|>[[580, 270, 999, 900]]<|/det|>"
        "<｜end▁of▁sentence｜>",
        [[580 / 999, 270 / 999, 1.0, 900 / 999]],
        ["The giraffe at the back."],
        "deepseek-ai/DeepSeek-VL2 README.md line 168 @ ef9f91e2b6426536b83294c11742c27be66361b1",
    ),
    Golden(
        "deepseek_vl2",
        "<|Assistant|>: <|ref|>mazdaughters<|/ref|><|det|>[[220, <|ref|>compact car<|/ref|>"
        "<|det|>[[220, 416, 417, 720]]<|/det|><｜end▁of▁sentence｜>",
        # the first box is cut off when the model restarts; the second is complete
        [[220 / 999, 416 / 999, 417 / 999, 720 / 999]],
        ["compact car"],
        "https://github.com/deepseek-ai/DeepSeek-VL2/issues/100 (deepseek-vl2-small, vLLM)",
        n_invalid=1,
    ),
    Golden(
        "deepseek_vl2",
        "<|Assistant|>:: <|ref|>head without helmet<|/ref|><|det|>[[0, 50, 55, 9999], "
        "[0, 5, 533, 17, " + "9" * 300,
        # a complete box reaching past the far edge (clipped), then a runaway number
        [[0.0, 50 / 999, 55 / 999, 1.0]],
        ["head without helmet"],
        "https://github.com/deepseek-ai/DeepSeek-VL2/issues/96 (comment of 2025-02-26; the run "
        "of 9s is shortened to 300 digits)",
        n_invalid=1,
    ),
    Golden(
        "glm4v",
        "\nThe coordinates of the second bottle of beer from the right on the table are "
        "<|begin_of_box|>[[94,598,177,991]]<|end_of_box|>.",
        [[0.094, 0.598, 0.177, 0.991]],
        [None],
        "andyluo7/andyluo7.github.io _posts/2025-12-09-run-glm-4-6v-on-amd-mi300x-with-vllm.md "
        "(GLM-4.6V served by vLLM)",
    ),
    Golden(
        "kosmos2",
        "<grounding> An image of<phrase> a snowman</phrase><object><patch_index_0044>"
        "<patch_index_0863></object> warming himself by<phrase> a fire</phrase><object>"
        "<patch_index_0005><patch_index_0911></object>.",
        # 44 -> cell (12, 1), 863 -> (31, 26): cell centres of a 32x32 grid
        [
            [12.5 / 32, 1.5 / 32, 31.5 / 32, 26.5 / 32],
            [5.5 / 32, 0.5 / 32, 15.5 / 32, 28.5 / 32],
        ],
        ["a snowman", "a fire"],
        "transformers models/kosmos2/modeling_kosmos2.py, Kosmos2ForConditionalGeneration."
        "generate docstring (microsoft/kosmos-2-patch14-224 on the snowman image)",
    ),
    Golden(
        "florence2",
        "</s><s>car<loc_53><loc_334><loc_933><loc_775>door handle<loc_425><loc_504><loc_474>"
        "<loc_516></s><pad>",
        [[0.0535, 0.3345, 0.9335, 0.7755], [0.4255, 0.5045, 0.4745, 0.5165]],
        ["car", "door handle"],
        "huggingface/transformers tests/models/florence2/test_processing_florence2.py "
        "(text_with_phrase, Florence-2-base on the car image)",
    ),
    Golden(
        "florence2",
        "shelf<loc_264><loc_173><loc_572><loc_748><loc_755><loc_274><loc_966><loc_737><loc_46>"
        "<loc_335><loc_261><loc_763><loc_555><loc_360><loc_760><loc_756>",
        [
            [0.2645, 0.1735, 0.5725, 0.7485],
            [0.7555, 0.2745, 0.9665, 0.7375],
            [0.0465, 0.3355, 0.2615, 0.7635],
            [0.5555, 0.3605, 0.7605, 0.7565],
        ],
        ["shelf"] * 4,
        "modelscope/ms-swift docs/source_en/Multi-Modal/florence-best-pratice.md line 49 @ "
        "d2b45ec8c6acbfc126f784f3781aac31db1c297a (Florence-2-large-ft, <OD>)",
    ),
    Golden(
        "paligemma",
        "<loc0046><loc0538><loc0795><loc1022> cat ; <loc0110><loc0000><loc1022><loc0512> cat",
        # y first, / 1023: (y1=46, x1=538, y2=795, x2=1022), (y1=110, x1=0, y2=1022, x2=512)
        [
            [538 / 1023, 46 / 1023, 1022 / 1023, 795 / 1023],
            [0.0, 110 / 1023, 512 / 1023, 1022 / 1023],
        ],
        ["cat", "cat"],
        "Blaizzy/mlx-vlm examples/object_detection.ipynb line 344 @ "
        "9b13f522a7f1d214f426c67bb292c9e1065e9108 (mlx-community/paligemma-3b-mix-224-8bit, "
        "'detect cat' on images/cats.jpg, cell output)",
    ),
    Golden(
        "paligemma",
        "<loc0000><loc0000><loc1022><loc1022> cat",
        # y first, / 1023: (0, 0, 1022, 1022)
        [[0.0, 0.0, 1022 / 1023, 1022 / 1023]],
        ["cat"],
        "modelscope/ms-swift tests/test_align/test_template/test_vision.py line 459 @ "
        "3602360a562313afbf2ef6065fdf61f271a2c5b9 (test_paligemma: the greedy answer of "
        "paligemma-3b-mix-224 to 'detect cat' on the ModelScope cat.png, asserted by the test)",
    ),
    Golden(
        "paligemma",
        "<loc0256><loc0256><loc0768><loc0768> cat",
        [[256 / 1023, 256 / 1023, 768 / 1023, 768 / 1023]],
        ["cat"],
        "roboflow/supervision docs/changelog.md line 831 (PaliGemma result in from_vlm)",
        kind=EXAMPLE,
    ),
    Golden(
        "paligemma",
        "<loc0001><loc0123><loc0530><loc1012> stop sign",
        # y first: y1=1, x1=123, y2=530, x2=1012
        [[123 / 1023, 1 / 1023, 1012 / 1023, 530 / 1023]],
        ["stop sign"],
        "segis95/paligemma2-detection docs/paligemma_oc_report.md (PaliGemma-2 prediction)",
        kind=EXAMPLE,
    ),
    Golden(
        "gemini",
        '```json\n[\n  {"box_2d": [53, 248, 388, 527], "label": "sock with face"},\n'
        '  {"box_2d": [236, 662, 653, 862], "label": "sock with face"}\n]\n```',
        # y first, / 1000: [ymin, xmin, ymax, xmax] -> [xmin, ymin, xmax, ymax]
        [[0.248, 0.053, 0.527, 0.388], [0.662, 0.236, 0.862, 0.653]],
        ["sock with face", "sock with face"],
        "google-gemini/cookbook quickstarts/Spatial_understanding.ipynb lines 624-629 @ "
        "6e4afe652dc9256acc9a2c4cbdebb039b9f3df35 (printed response.text; the notebook's model "
        "is gemini-2.0-flash; the print's trailing newline and the image size after it left out)",
    ),
    Golden(
        "gemini",
        "Here are the bounding box detections:\n```json\n[\n"
        '  {"box_2d": [447, 0, 1000, 418], "label": "pink cloth"},\n'
        '  {"box_2d": [197, 300, 510, 514], "label": "sugar bowl"},\n'
        '  {"box_2d": [433, 607, 664, 871], "label": "spill"},\n'
        '  {"box_2d": [0, 465, 325, 807], "label": "sugar container"}\n]\n```\n'
        "Here's how to clean the table:\n\n"
        "1.  **Grab the pink cloth**: Use the pink cloth to wipe up the spill.\n"
        "2.  **Wipe the spill**: Gently wipe the spill, starting from the outside and working "
        "your way inward to prevent spreading it further.\n"
        "3.  **Clean the area**: Once you've removed the majority of the spill, use a clean, "
        "damp cloth or sponge with a mild dish soap to clean the affected area.\n"
        "4.  **Rinse**: Rinse the area with a clean, damp cloth to remove any soap residue.\n"
        "5.  **Dry**: Dry the surface thoroughly with a clean towel.\n",
        # y first, / 1000; the numbered steps after the fence hold no box
        [
            [0.0, 0.447, 0.418, 1.0],
            [0.300, 0.197, 0.514, 0.510],
            [0.607, 0.433, 0.871, 0.664],
            [0.465, 0.0, 0.807, 0.325],
        ],
        ["pink cloth", "sugar bowl", "spill", "sugar container"],
        "google-gemini/cookbook quickstarts/Spatial_understanding.ipynb line 882 @ "
        "6e4afe652dc9256acc9a2c4cbdebb039b9f3df35 (response.text of the Spill.jpg cell, "
        "gemini-2.0-flash)",
    ),
    Golden(
        "gemini",
        "[\n"
        '  {"box_2d": [393, 67, 574, 206], "label": "red sprinkle topping"},\n'
        '  {"box_2d": [379, 248, 539, 370], "label": "pink swirl topping with sprinkles"},\n'
        '  {"box_2d": [365, 396, 502, 503], "label": "light pink swirl topping"},\n'
        '  {"box_2d": [444, 432, 597, 566], "label": "bright pink topping with eye dots"},\n'
        '  {"box_2d": [353, 529, 522, 652], "label": "pink swirl topping with blue dots"},\n'
        '  {"box_2d": [377, 737, 534, 866], "label": "chocolate swirl topping"},\n'
        '  {"box_2d": [554, 41, 727, 201], "label": "white frosting with colorful sprinkles"},\n'
        '  {"box_2d": [543, 296, 703, 444], "label": "monster topping with sprinkles and eyes"},\n'
        '  {"box_2d": [557, 513, 712, 665], "label": "monster topping with pink sprinkles and '
        'eyes"},\n'
        '  {"box_2d": [473, 629, 638, 772], "label": "white frosting with pink and green '
        'sprinkles"},\n'
        '  {"box_2d": [508, 798, 691, 959], "label": "white frosting with colorful candy dots"},\n'
        '  {"box_2d": [655, 353, 819, 516], "label": "monster topping with eyes (center)"},\n'
        '  {"box_2d": [742, 134, 922, 308], "label": "monster topping with eyes (bottom left)"}\n'
        "]",
        # y first, / 1000: each [ymin, xmin, ymax, xmax] -> [xmin, ymin, xmax, ymax]
        [
            [0.067, 0.393, 0.206, 0.574],
            [0.248, 0.379, 0.370, 0.539],
            [0.396, 0.365, 0.503, 0.502],
            [0.432, 0.444, 0.566, 0.597],
            [0.529, 0.353, 0.652, 0.522],
            [0.737, 0.377, 0.866, 0.534],
            [0.041, 0.554, 0.201, 0.727],
            [0.296, 0.543, 0.444, 0.703],
            [0.513, 0.557, 0.665, 0.712],
            [0.629, 0.473, 0.772, 0.638],
            [0.798, 0.508, 0.959, 0.691],
            [0.353, 0.655, 0.516, 0.819],
            [0.134, 0.742, 0.308, 0.922],
        ],
        [
            "red sprinkle topping",
            "pink swirl topping with sprinkles",
            "light pink swirl topping",
            "bright pink topping with eye dots",
            "pink swirl topping with blue dots",
            "chocolate swirl topping",
            "white frosting with colorful sprinkles",
            "monster topping with sprinkles and eyes",
            "monster topping with pink sprinkles and eyes",
            "white frosting with pink and green sprinkles",
            "white frosting with colorful candy dots",
            "monster topping with eyes (center)",
            "monster topping with eyes (bottom left)",
        ],
        "google-gemini/cookbook quickstarts/Spatial_understanding.ipynb lines 514-528 @ "
        "f1e7e3de6004e6ca604b174684ecf89d628ac6c4 (printed output of the Cupcakes.jpg cell, the "
        "print's newline left out; "
        "committed in f15f357ecfe0fa4d64356b1edf8107950d768ba3 when the notebook's model was "
        "gemini-3.5-flash; no code fence)",
    ),
    Golden(
        "gemini",
        '[\n  {"box_2d": [543, 40, 728, 200], "label": "cat", "id": 1},\n'
        '  {"box_2d": [653, 352, 820, 522], "label": "dog", "id": 2}\n]',
        # y first: [ymin, xmin, ymax, xmax]
        [[0.040, 0.543, 0.200, 0.728], [0.352, 0.653, 0.522, 0.820]],
        ["cat", "dog"],
        "roboflow/supervision docs/changelog.md lines 146-147 (Gemini 2.0 result in from_vlm)",
        kind=EXAMPLE,
    ),
    Golden(
        "internvl",
        "car[[561, 660, 695, 1000]]",
        # / 1000; <ref>/<box> are special tokens, dropped by chat()'s skip_special_tokens=True
        [[0.561, 0.660, 0.695, 1.0]],
        ["car"],
        "https://github.com/OpenGVLab/InternVL/issues/953 (InternVL2.5-8B, description of "
        "2025-03-13: the answer after 'Assistant: ' to 'Please provide the bounding box "
        "coordinate of <ref>car</ref> in the image.')",
    ),
    Golden(
        "internvl",
        "car[[75, 658, 250, 871], [286, 558, 444, 711]]\ntruck[[440, 208, 502, 255]]\n"
        "van[[446, 240, 527, 311]]\nbus[[500, 244, 616, 363]]\npedestrian[[0, 1000, 999, 998]]",
        # / 1000, x first; the pedestrian box has y2 = 998 < y1 = 1000: invalid
        [
            [0.075, 0.658, 0.250, 0.871],
            [0.286, 0.558, 0.444, 0.711],
            [0.440, 0.208, 0.502, 0.255],
            [0.446, 0.240, 0.527, 0.311],
            [0.500, 0.244, 0.616, 0.363],
        ],
        ["car", "car", "truck", "van", "bus"],
        "https://github.com/OpenGVLab/InternVL/issues/953 (InternVL2.5-8B, description of "
        "2025-03-13: the answer after 'Assistant: ' to the multi-category detection prompt)",
        n_invalid=1,
    ),
    Golden(
        "internvl",
        "<box> [[200, 200, 600, 600]] </box>",
        [[0.2, 0.2, 0.6, 0.6]],
        [None],
        "modelscope/ms-swift docs/source_en/Multi-Modal/internvl-best-practice.md line 352 @ "
        "d2b45ec8c6acbfc126f784f3781aac31db1c297a (InternVL grounding response to "
        "'Find <ref>the man</ref>'); scale: OpenGVLab/InternVL eval/refcoco/evaluate_grounding.py",
        kind=EXAMPLE,
    ),
    Golden(
        "minicpmv",
        "<ref>book</ref><box> 100 200 300 400 </box>",
        [[0.1, 0.2, 0.3, 0.4]],
        ["book"],
        "https://github.com/OpenBMB/MiniCPM-V/issues/982 (maintainer: '<box>x1 y1 x2 y2</box>', "
        "normalised to 1000) and likaixin2000/ScreenSpot-Pro-GUI-Grounding issue #21 "
        "('<box> x1 y1 x2 y2 </box>')",
        kind=EXAMPLE,
    ),
    Golden(
        "molmo",
        '<points x1="12.0" y1="30.5" x2="48.3" y2="70.5" alt="sheep">sheep</points>',
        [[0.120, 0.305, 0.483, 0.705]],
        ["sheep"],
        "allenai/molmo olmo/data/data_formatter.py points_to_text (the target format, one "
        "decimal of percent) read as a box by olmo/util.py extract_bboxes",
        kind=EXAMPLE,
    ),
]


@pytest.mark.parametrize("row", GOLDEN, ids=[f"{g.dialect}-{i}" for i, g in enumerate(GOLDEN)])
def test_golden_boxes(row: Golden) -> None:
    d = parse_detections(row.text, dialect=row.dialect, image_size=row.image_size)
    assert not d.failed, d.errors
    np.testing.assert_allclose(d.boxes, np.array(row.boxes), rtol=0, atol=1e-12)
    assert d.labels == row.labels
    assert d.n_invalid == row.n_invalid
    if row.raw is not None:
        assert d.raw_boxes.tolist() == row.raw


def test_every_dialect_has_a_golden_row() -> None:
    from visual_rewards.parsing.dialects import DIALECT_NAMES

    assert {g.dialect for g in GOLDEN} == set(DIALECT_NAMES)
    assert all(g.source for g in GOLDEN)


def test_golden_points() -> None:
    # allenai/molmo olmo/data/data_formatter.py points_to_text: one point, percent
    p = parse_points('<point x="61.5" y="40.6" alt="cup">cup</point>', dialect="molmo")
    np.testing.assert_allclose(p.points, [[0.615, 0.406]])
    assert p.labels == ["cup"]


@dataclass(frozen=True)
class GoldenPoints:
    dialect: str
    text: str
    points: list[list[float]]  # normalised xy, by hand
    labels: list[str | None]
    source: str
    kind: str = OUTPUT


_MLX_POINTING = "Blaizzy/mlx-vlm examples/object_pointing.ipynb"
_SPEAKERS = "cup, left speaker, keyboard, monitor, mouse, right speaker"
_DESK = "speaker, keyboard, monitor, mouse"

GOLDEN_POINTS = [
    GoldenPoints(
        "molmo",
        ' <points x1="32.0" y1="62.8" x2="68.5" y2="62.8" alt="speakers">speakers</points>',
        # percent / 100
        [[0.320, 0.628], [0.685, 0.628]],
        ["speakers"] * 2,
        f"{_MLX_POINTING} line 152 @ 9b13f522a7f1d214f426c67bb292c9e1065e9108 "
        "(mlx-community/Molmo-7B-D-0924-4bit, 'Point out to all speakers', printed output)",
    ),
    GoldenPoints(
        "molmo",
        ' <points x1="24.8" y1="70.3" x2="32.0" y2="62.8" x3="34.0" y3="75.9" x4="48.6" '
        'y4="75.9" x5="50.3" y5="48.3" x6="63.0" y6="73.9" x7="68.5" y7="62.8" '
        f'alt="{_SPEAKERS}">{_SPEAKERS}</points>',
        # percent / 100, seven numbered points
        [
            [0.248, 0.703],
            [0.320, 0.628],
            [0.340, 0.759],
            [0.486, 0.759],
            [0.503, 0.483],
            [0.630, 0.739],
            [0.685, 0.628],
        ],
        [_SPEAKERS] * 7,
        f"{_MLX_POINTING} line 259 @ 9b13f522a7f1d214f426c67bb292c9e1065e9108 "
        "(Molmo-7B-D-0924-4bit, 'Point out to left speaker, keyboard, monitor, mouse, right "
        "speaker')",
    ),
    GoldenPoints(
        "molmo",
        ' <points x1="32.0" y1="62.8" x2="49.0" y2="75.0" x3="50.8" y3="49.0" x4="63.2" '
        f'y4="73.8" alt="{_DESK}">{_DESK}</points>',
        # percent / 100
        [[0.320, 0.628], [0.490, 0.750], [0.508, 0.490], [0.632, 0.738]],
        [_DESK] * 4,
        f"{_MLX_POINTING} line 257 @ 416cbea9f97878b999902c0d0fca7e69c77eec01 (an earlier run "
        "of the same prompt, Molmo-7B-D-0924-4bit)",
    ),
]


@pytest.mark.parametrize(
    "row", GOLDEN_POINTS, ids=[f"{g.dialect}-{i}" for i, g in enumerate(GOLDEN_POINTS)]
)
def test_golden_point_outputs(row: GoldenPoints) -> None:
    p = parse_points(row.text, dialect=row.dialect)
    assert not p.failed, p.errors
    np.testing.assert_allclose(p.points, np.array(row.points), rtol=0, atol=1e-12)
    assert p.labels == row.labels
    assert p.n_invalid == 0
    assert parse_points(row.text, dialect="auto").dialect == row.dialect


def test_visual_rft_scores_kept() -> None:
    d = parse_detections(GOLDEN[0].text, dialect="visual_rft")
    assert d.scores.tolist() == [1.0, 1.0]
