"""The prompts of the Visual-RFT paper (Table 1) as its released code writes them.

The paper's Table 1 prints the detection and classification prompts with their tags and
quotes mangled by typesetting; the strings below are the ones the authors' released training
and evaluation code sends to the model (``'`` quotes, ``<think>``/``<answer>`` tags, the
newlines, and the missing space in ``tags.The``), so that a model fine-tuned with the
released datasets sees exactly the same text.

>>> print(detection_prompt("cat").splitlines()[0][:60])
Detect all objects belonging to the category 'cat' in the im
>>> print(classification_prompt("flowers").splitlines()[0])
This is an image containing a plant. Please identify the species of the plant based on the image.
"""

from __future__ import annotations

from dataclasses import dataclass

from visual_rewards.parsing.dialects import get_dialect

__all__ = [
    "CLASSIFICATION_NOUNS",
    "CLASSIFICATION_PROMPT",
    "DETECTION_PROMPT",
    "GROUNDING_PROMPT",
    "NO_OBJECTS",
    "ClassificationNoun",
    "classification_prompt",
    "detection_prompt",
    "dialect_prompt",
    "grounding_prompt",
]

#: The answer the detection prompt asks for when the category is absent.
NO_OBJECTS = "No Objects"

#: Table 1, detection prompt; ``{category}`` appears twice.
DETECTION_PROMPT = (
    "Detect all objects belonging to the category '{category}' in the image, and provide the "
    "bounding boxes (between 0 and 1000, integer) and confidence (between 0 and 1, with two "
    "decimal places).\n"
    "If no object belonging to the category '{category}' in the image, return 'No Objects'.\n"
    "Output the thinking process in <think> </think> and final answer in <answer> </answer> "
    "tags."
    "The output answer format should be as follows:\n"
    "<think> ... </think> <answer>[{{'Position': [x1, y1, x2, y2], 'Confidence': number}}, "
    "...]</answer>\n"
    "Please strictly follow the format."
)

#: Table 1, classification prompt; ``{article}`` is ``a``/``an``.
CLASSIFICATION_PROMPT = (
    "This is an image containing {article} {noun}. Please identify the {attribute} of the "
    "{noun} based on the image.\n"
    "Output the thinking process in <think> </think> and final answer in <answer> </answer> "
    "tags."
    "The output answer format should be as follows:\n"
    "<think> ... </think> <answer>species name</answer>\n"
    "Please strictly follow the format."
)

#: The reasoning-grounding (LISA) prompt of the released demo; ``{query}`` is the instruction.
GROUNDING_PROMPT = (
    "Output the bounding box in the image corresponding to the instruction: {query}. "
    "Output the thinking process in <think> </think> and your grouding box. "
    'Following "<think> thinking process </think>\n<answer>(x1,y1),(x2,y2)</answer>)" format.'
)


@dataclass(frozen=True)
class ClassificationNoun:
    """What the classification prompt calls the object and the property to name.

    Attributes:
        noun: e.g. ``"plant"``; the prompt reads "an image containing a plant".
        attribute: e.g. ``"species"``; the prompt reads "identify the species of the plant".
    """

    noun: str
    attribute: str


#: The noun and attribute the released code uses for the paper's four datasets (Table 2).
CLASSIFICATION_NOUNS: dict[str, ClassificationNoun] = {
    "flowers": ClassificationNoun("plant", "species"),
    "pets": ClassificationNoun("pet", "species"),
    "aircraft": ClassificationNoun("aircraft", "model"),
    "cars": ClassificationNoun("car", "model"),
}


def _article(noun: str) -> str:
    return "an" if noun[:1].lower() in "aeiou" else "a"


def detection_prompt(category: str) -> str:
    """The paper's detection prompt for one category name (used verbatim, as the authors did).

    >>> "'No Objects'" in detection_prompt("stop sign")
    True
    """
    if not isinstance(category, str) or not category.strip():
        raise ValueError(f"category must be a non-empty string, got {category!r}")
    return DETECTION_PROMPT.format(category=category)


def classification_prompt(
    dataset: str | None = None, *, noun: str | None = None, attribute: str | None = None
) -> str:
    """The paper's classification prompt for a dataset preset or an explicit noun/attribute.

    ``dataset`` is one of :data:`CLASSIFICATION_NOUNS` (``flowers``, ``pets``, ``aircraft``,
    ``cars``); ``noun``/``attribute`` override it.

    >>> classification_prompt(noun="bird", attribute="species").split(".")[0]
    'This is an image containing a bird'
    >>> classification_prompt("aircraft").split(".")[0]
    'This is an image containing an aircraft'
    """
    base = ClassificationNoun("object", "class")
    if dataset is not None:
        if dataset not in CLASSIFICATION_NOUNS:
            raise ValueError(
                f"dataset must be one of {sorted(CLASSIFICATION_NOUNS)}, got {dataset!r}; "
                "or pass noun= and attribute="
            )
        base = CLASSIFICATION_NOUNS[dataset]
    noun = noun if noun is not None else base.noun
    attribute = attribute if attribute is not None else base.attribute
    for name, value in (("noun", noun), ("attribute", attribute)):
        if not value.strip():
            raise ValueError(f"{name} must be a non-empty string")
    return CLASSIFICATION_PROMPT.format(article=_article(noun), noun=noun, attribute=attribute)


def grounding_prompt(query: str) -> str:
    """The released reasoning-grounding prompt for one query (trailing ``.`` is not doubled).

    >>> grounding_prompt("the animal that can fly.").split(":")[1][:26]
    ' the animal that can fly. '
    """
    if not isinstance(query, str) or not query.strip():
        raise ValueError(f"query must be a non-empty string, got {query!r}")
    text = query.strip()
    if text.endswith("."):
        text = text[:-1]
    return GROUNDING_PROMPT.format(query=text)


#: The paper's think/answer instruction, appended to a dialect's own grounding instruction.
THINK_ANSWER = (
    "Output the thinking process in <think> </think> and final answer in <answer> </answer> tags."
)


def dialect_prompt(dialect: str, target: str, *, kind: str = "box") -> str:
    """A prompt asking a model family for the boxes (or points) of ``target`` in its own
    grounding dialect, then for the paper's think/answer format.

    The instruction is the dialect's ``box_prompt``/``point_prompt``
    (:data:`~visual_rewards.parsing.dialects.DIALECTS`): the wording the family was trained on.

    >>> dialect_prompt("paligemma", "cat").split(".")[0]
    'detect cat\\nOutput the thinking process in <think> </think> and final answer in <answer> </answer> tags'
    >>> dialect_prompt("molmo", "cup", kind="point").startswith("Point to every cup.")
    True

    Raises:
        ValueError: an unknown dialect, or one that writes no items of ``kind``.
    """
    if not isinstance(target, str) or not target.strip():
        raise ValueError(f"target must be a non-empty string, got {target!r}")
    d = get_dialect(dialect)
    template = d.box_prompt if kind == "box" else d.point_prompt
    if template is None:
        raise ValueError(f"dialect {dialect!r} writes no {'boxes' if kind == 'box' else 'points'}")
    return template.format(target) + "\n" + THINK_ANSWER
