"""What every reward shares: presets, the TRL calling convention, and the batch result.

A reward is a small immutable object built from a *preset* (a frozen config) plus keyword
overrides. It scores a batch with :meth:`Reward.score`, which returns a :class:`RewardResult`,
and it is itself a TRL reward function: ``reward(prompts=…, completions=…, solution=…)``
returns one ``float`` (or ``None`` where not applicable) per completion.
"""

from __future__ import annotations

import abc
import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, NoReturn

import numpy as np
import numpy.typing as npt

from visual_rewards import trl as trl_glue

__all__ = ["Reward", "RewardResult"]


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
        if preset not in self.presets:
            raise ValueError(
                f"{type(self).__name__}: preset must be one of {sorted(self.presets)}, got {preset!r}"
            )
        base = self.presets[preset]
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
        """Validate ``self.config``; raise ``ValueError`` naming the bad option."""
        return

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
        reported through TRL's ``log_metric``/``log_extra`` (see :mod:`visual_rewards.trl`).
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
        columns = trl_glue.reward_columns(self.extra_columns, kwargs)
        if self.supports_details and callable(kwargs.get("log_extra")):
            columns["details"] = True
        result = self.score(completions, solutions, **columns)
        trl_glue.log_result(self.__name__, result, kwargs)
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
