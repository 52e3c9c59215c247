"""What every reward shares: presets, the shared policies, the calling convention, the result.

A reward is a small immutable object built from a *preset* (a frozen config) plus keyword
overrides. It scores a batch with :meth:`Reward.score`, which returns a :class:`RewardResult`,
and it is itself a TRL reward function: ``reward(prompts=…, completions=…, solution=…)``
returns one ``float`` (or ``None`` where not applicable) per completion.

The policies below are the same for every reward and live only here (``docs/rewards.md``):

- **Presets** are looked up through :data:`PRESET_ALIASES`; an unknown preset or option is a
  caller error naming the valid ones.
- **Weights**: every ``*_weight`` option must be a finite number ``>= 0`` (a negative weight
  would pay for a wrong answer), checked once in :meth:`Reward._check_config`.
- **Format component**: computed for every reward by :meth:`Reward.read_completions` from the
  one format check the reward's ``format_rule`` names (:data:`FORMAT_RULES`: ``"strict"`` is
  :func:`~visual_rewards.parsing.parse_completion`'s ``format_ok``, ``"visual_rft"`` is
  :func:`~visual_rewards.parsing.visual_rft_format_ok`).
- **Malformed ground truth**: the row's ``total`` and task components are NaN (``None`` for
  TRL) with one warning naming the row (:meth:`Reward.malformed`), or ``ValueError`` with
  ``strict=True``. The ``format`` component keeps its value: it is a property of the
  completion alone, so it means the same in every reward and in :class:`FormatReward`.
- **Calling convention**: :meth:`Reward.__call__` (columns and logging in
  :mod:`visual_rewards.rewards.calling`).
"""

from __future__ import annotations

import abc
import dataclasses
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, NoReturn

import numpy as np
import numpy.typing as npt

from visual_rewards.geometry.coords import COORD_SPACES, CoordSpace
from visual_rewards.parsing.completion import (
    ParsedCompletion,
    capped_text,
    parse_completion,
    visual_rft_format_ok,
)
from visual_rewards.parsing.dialects import AUTO, DIALECT_NAMES
from visual_rewards.rewards.calling import log_result, reward_columns

__all__ = [
    "FORMAT_RULES",
    "PRESETS",
    "PRESET_ALIASES",
    "CoordOptions",
    "Reward",
    "RewardResult",
    "SharedOptions",
    "check_lengths",
    "format_scores",
    "visual_rft_format_scores",
]

FloatArray = npt.NDArray[np.float64]

#: The format checks a reward's ``format_rule`` may name.
FORMAT_RULES: tuple[str, ...] = ("strict", "visual_rft")
#: The values the ``dialect`` option takes (a dialect name, or ``"auto"``).
DIALECT_CHOICES: tuple[str, ...] = (*DIALECT_NAMES, AUTO)
#: The preset names every reward may offer (each reward lists the ones it has).
PRESETS: tuple[str, ...] = ("default", "visual_rft")
#: Other spellings of preset names, resolved by every reward and by the registry.
PRESET_ALIASES: Mapping[str, str] = {"visual-rft": "visual_rft", "visualrft": "visual_rft"}


@dataclass(frozen=True)
class SharedOptions:
    """Options every reward with a ground truth has (its config extends this).

    Attributes:
        format_rule: the format check of the ``format`` component, one of :data:`FORMAT_RULES`.
        format_weight: the weight of ``format`` in ``total``.
        strict: raise ``ValueError`` on a malformed ground truth instead of warning.
    """

    format_rule: Literal["strict", "visual_rft"] = "strict"
    format_weight: float = 1.0
    strict: bool = False


@dataclass(frozen=True)
class CoordOptions(SharedOptions):
    """The shared options plus coordinate spaces (the box and point rewards).

    Attributes:
        coords: the coordinate space the model writes in (see
            :mod:`visual_rewards.geometry.coords`).
        gt_coords: the space of the ground truth's coordinates (``None``: same as ``coords``).
        min_pixels, max_pixels: Qwen2.5-VL processor bounds for ``"qwen25vl"`` (``None``: the
            processor's defaults).
        dialect: the grounding dialect the model writes (a name of
            :data:`~visual_rewards.parsing.dialects.DIALECTS`, or ``"auto"``); ``None`` reads
            answers with the general reader in ``coords``. A dialect fixes the space of the
            predictions; the ground truth is still read in ``gt_coords`` (or ``coords``).
    """

    coords: CoordSpace = "norm1000"
    gt_coords: CoordSpace | None = None
    min_pixels: int | None = None
    max_pixels: int | None = None
    dialect: str | None = None


def format_scores(parsed: Sequence[ParsedCompletion], rule: str) -> FloatArray:
    """The format component ``(B,)`` of parsed completions under ``rule`` (one of
    :data:`FORMAT_RULES`): 1.0 where the format holds, else 0.0.

    >>> pc = [parse_completion("<think></think><answer>x</answer>")]
    >>> format_scores(pc, "strict"), format_scores(pc, "visual_rft")
    (array([0.]), array([1.]))
    """
    if rule == "visual_rft":
        return visual_rft_format_scores([p.text for p in parsed])
    return np.asarray([p.format_ok for p in parsed], dtype=np.float64).reshape(len(parsed))


def visual_rft_format_scores(texts: Sequence[str]) -> FloatArray:
    """The ``visual_rft`` format component ``(B,)`` of completion texts (1.0 where
    :func:`~visual_rewards.parsing.visual_rft_format_ok` holds, else 0.0)."""
    ok = [visual_rft_format_ok(t) for t in texts]
    return np.asarray(ok, dtype=np.float64).reshape(len(texts))


@dataclass(frozen=True)
class RewardResult:
    """Scores of one batch of ``B`` completions.

    Attributes:
        total: ``(B,)`` float64, the weighted sum of the components; NaN only where the
            reward does not apply (e.g. a malformed ground truth).
        components: name -> ``(B,)`` float64, each in ``[0, 1]`` (NaN where not applicable).
        parse_failed: ``(B,)`` bool, True where no answer payload could be read.
    """

    total: npt.NDArray[np.float64]
    components: Mapping[str, npt.NDArray[np.float64]]
    parse_failed: npt.NDArray[np.bool_]
    #: Optional per-row diagnostics (name -> ``B`` values), e.g. a detection reward's parsed
    #: ``boxes`` and matched ``ious`` when scored with ``details=True``; empty by default.
    details: Mapping[str, list[Any]] = dataclasses.field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.total.shape[0])

    def to_list(self) -> list[float | None]:
        """``total`` as TRL wants it: floats, with ``None`` where not applicable.

        >>> RewardResult(np.array([1.0, np.nan]), {}, np.zeros(2, bool)).to_list()
        [1.0, None]
        """
        return [None if math.isnan(v) else v for v in self.total.tolist()]

    @classmethod
    def from_components(
        cls,
        components: Mapping[str, npt.NDArray[np.float64]],
        weights: Mapping[str, float],
        parse_failed: npt.NDArray[np.bool_],
    ) -> RewardResult:
        """Build a result whose total is ``Σ weights[k] * components[k]``.

        >>> r = RewardResult.from_components({"a": np.array([1.0]), "b": np.array([0.5])},
        ...                                  {"a": 1.0, "b": 2.0}, np.zeros(1, bool))
        >>> r.total
        array([2.])
        """
        total = np.zeros_like(parse_failed, dtype=np.float64)
        for key, value in components.items():
            total = total + weights.get(key, 1.0) * value
        return cls(total=total, components=dict(components), parse_failed=parse_failed)


class Reward(abc.ABC):
    """Base class of all rewards: a preset plus overrides, immutable, picklable, TRL-callable.

    Subclasses set ``task`` (used in ``__name__``), ``presets`` (preset name -> frozen
    config dataclass) and implement :meth:`score`.
    """

    task: ClassVar[str]
    presets: ClassVar[Mapping[str, Any]]
    #: False for rewards that need no ground truth (format).
    needs_solution: ClassVar[bool] = True
    #: Dataset columns, besides the solution, that :meth:`__call__` forwards to :meth:`score`.
    extra_columns: ClassVar[tuple[str, ...]] = ()
    #: True for rewards whose :meth:`score` takes ``details=True`` and then fills
    #: :attr:`RewardResult.details`; :meth:`__call__` asks for them when TRL passes ``log_extra``.
    supports_details: ClassVar[bool] = False
    #: The config field naming the format rule (one of :data:`FORMAT_RULES`).
    format_field: ClassVar[str] = "format_rule"

    preset: str
    config: Any
    solution_column: str
    name: str | None

    def __init__(
        self,
        preset: str = "default",
        *,
        solution_column: str = "solution",
        name: str | None = None,
        **overrides: Any,
    ) -> None:
        preset = PRESET_ALIASES.get(preset, preset)
        if preset not in self.presets:
            raise ValueError(self.unknown_preset(preset))
        base = self.presets[preset]
        overrides = self._prepare_options(dict(overrides))
        valid = {f.name for f in dataclasses.fields(base)}
        unknown = sorted(set(overrides) - valid)
        if unknown:
            raise TypeError(
                f"{type(self).__name__}: unknown option(s) {unknown}; valid options: {sorted(valid)}"
            )
        config = dataclasses.replace(base, **overrides)
        object.__setattr__(self, "preset", preset)
        object.__setattr__(self, "config", config)
        object.__setattr__(self, "solution_column", solution_column)
        object.__setattr__(self, "name", name)
        self._check_config()

    def _check_config(self) -> None:
        """Validate ``self.config``; raise ``ValueError`` naming the bad option.

        Checks the options every reward shares (weights, ``format_rule``, coordinate spaces),
        then calls :meth:`_check_options` for the reward's own.
        """
        for f in dataclasses.fields(self.config):
            value = getattr(self.config, f.name)
            if f.name.endswith("_weight") and not (
                isinstance(value, (int, float))
                and not isinstance(value, bool)
                and math.isfinite(value)
                and value >= 0
            ):
                raise ValueError(f"{f.name} must be a finite number >= 0, got {value!r}")
            if f.name == self.format_field and value not in FORMAT_RULES:
                raise ValueError(f"{f.name} must be one of {FORMAT_RULES}, got {value!r}")
            if (
                f.name in ("coords", "gt_coords")
                and value is not None
                and value not in COORD_SPACES
            ):
                raise ValueError(f"{f.name} must be one of {COORD_SPACES}, got {value!r}")
            if f.name == "dialect" and value is not None and value not in DIALECT_CHOICES:
                raise ValueError(f"dialect must be one of {DIALECT_CHOICES}, got {value!r}")
        self._check_options()

    def _check_options(self) -> None:
        """Validate the reward's own options (the shared ones are checked already)."""
        return

    @classmethod
    def unknown_preset(cls, preset: str) -> str:
        """The one message for a preset this reward lacks (the registry and adapters use it).

        >>> from visual_rewards import CountingReward
        >>> CountingReward.unknown_preset("visual_rft")
        "CountingReward (task 'counting') has no preset 'visual_rft'; valid presets: ['default']"
        """
        return (
            f"{cls.__name__} (task {cls.task!r}) has no preset {preset!r}; "
            f"valid presets: {sorted(cls.presets)}"
        )

    @classmethod
    def _prepare_options(cls, overrides: dict[str, Any]) -> dict[str, Any]:
        """Turn option values given in a convenient form into the config's types (a hook;
        e.g. a label list into a label set). Returns the overrides to apply."""
        return overrides

    # -- shared policies ----------------------------------------------------------------------

    def read_completions(
        self, completions: Sequence[Any]
    ) -> tuple[list[ParsedCompletion], FloatArray]:
        """Parse every completion once: ``(parsed, format component (B,))``."""
        parsed = [parse_completion(c) for c in completions]
        return parsed, format_scores(parsed, getattr(self.config, self.format_field))

    def read_texts(self, completions: Sequence[Any]) -> tuple[list[str], FloatArray]:
        """``(texts, format component (B,))`` for rewards that read the texts themselves: the
        texts :meth:`read_completions` would hold, split into think and answer only when the
        format rule needs it (``"strict"``; ``"visual_rft"`` checks the text whole)."""
        if getattr(self.config, self.format_field) == "visual_rft":
            texts = [capped_text(c) for c in completions]
            return texts, visual_rft_format_scores(texts)
        parsed, fmt = self.read_completions(completions)
        return [p.text for p in parsed], fmt

    def malformed(self, row: int, reason: str) -> None:
        """Report row ``row``'s malformed ground truth: ``ValueError`` under ``strict=True``,
        else one warning naming the row (the row then scores None)."""
        message = f"{self.__name__}: row {row}: malformed ground truth ({reason})"
        if getattr(self.config, "strict", False):
            raise ValueError(message)
        warnings.warn(f"{message}; the row scores None (not applicable)", stacklevel=3)

    def weight(self, component: str) -> float:
        """The weight of ``component`` in ``total``: the ``<component>_weight`` option, else 1."""
        return float(getattr(self.config, f"{component}_weight", 1.0))

    def result(
        self,
        components: Mapping[str, FloatArray],
        parse_failed: npt.NDArray[np.bool_],
        missing: npt.NDArray[np.bool_] | None = None,
        details: Mapping[str, list[Any]] | None = None,
    ) -> RewardResult:
        """The batch result: ``total = Σ weight(k) * components[k]``; on rows ``missing``
        (malformed ground truth) ``total`` and every component but ``format`` are NaN."""
        comps = {k: np.asarray(v, dtype=np.float64).copy() for k, v in components.items()}
        total = np.zeros(parse_failed.shape[0])
        for key, value in comps.items():
            total = total + self.weight(key) * value
        if missing is not None and missing.any():
            for key, value in comps.items():
                if key != "format":
                    value[missing] = np.nan
            total[missing] = np.nan
        return RewardResult(
            total=total, components=comps, parse_failed=parse_failed, details=dict(details or {})
        )

    def component_range(self, name: str) -> tuple[float, float]:
        """The declared ``(low, high)`` range of component ``name``: ``(0, 1)`` unless a
        preset says otherwise (the paper's grounding reward, ``GIoU + 1``, is ``(0, 2)``).

        >>> from visual_rewards import FormatReward
        >>> FormatReward().component_range("format")
        (0.0, 1.0)
        """
        return 0.0, 1.0

    def __setattr__(self, key: str, value: Any) -> NoReturn:
        raise dataclasses.FrozenInstanceError(
            f"{type(self).__name__} is immutable; build a new one"
        )

    def __delattr__(self, key: str) -> NoReturn:
        raise dataclasses.FrozenInstanceError(
            f"{type(self).__name__} is immutable; build a new one"
        )

    @property
    def __name__(self) -> str:
        """A distinct, stable name: ``name`` if given, else ``"<task>_<preset>"``."""
        return self.name or f"{self.task}_{self.preset}"

    def __repr__(self) -> str:
        changed = {
            f.name: getattr(self.config, f.name)
            for f in dataclasses.fields(self.config)
            if getattr(self.config, f.name) != getattr(self.presets[self.preset], f.name)
        }
        opts = "".join(f", {k}={v!r}" for k, v in changed.items())
        return f"{type(self).__name__}(preset={self.preset!r}{opts})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, Reward)
        return (self.preset, self.config, self.solution_column, self.name) == (
            other.preset,
            other.config,
            other.solution_column,
            other.name,
        )

    def __hash__(self) -> int:
        return hash((type(self), self.preset, self.config, self.solution_column, self.name))

    @abc.abstractmethod
    def score(
        self, completions: Sequence[Any], solutions: Sequence[Any] | None = None, **columns: Any
    ) -> RewardResult:
        """Score a batch; ``completions`` and ``solutions`` have the same length ``B``."""

    def __call__(
        self,
        prompts: Sequence[Any] | None = None,
        completions: Sequence[Any] | None = None,
        completion_ids: Sequence[Any] | None = None,
        **kwargs: Any,
    ) -> list[float | None]:
        """TRL's reward-function convention: one float (or None) per completion.

        Columns named in ``extra_columns`` are passed to :meth:`score` (an ``image_size``
        column is derived from TRL's ``image`` column), and the result's components are
        reported through TRL's ``log_metric``/``log_extra`` (see
        :mod:`visual_rewards.rewards.calling`).
        """
        if completions is None:
            raise TypeError(
                f"{self.__name__}: expected completions=[...] (TRL's keyword convention)"
            )
        solutions = None
        if self.needs_solution:
            if self.solution_column not in kwargs:
                raise KeyError(
                    f"{self.__name__}: needs the {self.solution_column!r} dataset column; "
                    f"got columns {sorted(k for k in kwargs if not k.startswith('log_'))}"
                )
            solutions = kwargs[self.solution_column]
        columns = reward_columns(self.extra_columns, kwargs)
        if self.supports_details and callable(kwargs.get("log_extra")):
            columns["details"] = True
        result = self.score(completions, solutions, **columns)
        log_result(self.__name__, result, kwargs)
        return result.to_list()


def check_lengths(
    completions: Sequence[Any], solutions: Sequence[Any] | None, needs_solution: bool = True
) -> int:
    """Return ``B`` after checking that completions and solutions pair up (caller error otherwise)."""
    if isinstance(completions, (str, bytes)):
        raise TypeError("completions must be a sequence of completions, not a single string")
    n = len(completions)
    if needs_solution:
        if solutions is None:
            raise TypeError("this reward needs solutions (ground truth), one per completion")
        if isinstance(solutions, (str, bytes)) or len(solutions) != n:
            got = (
                "a single string"
                if isinstance(solutions, (str, bytes))
                else f"{len(solutions)} solutions"
            )
            raise ValueError(f"expected {n} solutions (one per completion), got {got}")
    return n
