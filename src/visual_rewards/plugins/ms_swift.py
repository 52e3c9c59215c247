"""ms-swift reward plug-in: ``swift rlhf --rlhf_type grpo --external_plugins <this file>
--reward_funcs visual_rewards_detection ...``.

ms-swift (github.com/modelscope/ms-swift, read at commit 3602360 and in the 4.6.0 wheel)
imports each ``--external_plugins`` file (``swift/utils/utils.py``, ``import_external_file``:
the file's folder goes on ``sys.path`` and the file is imported by name, or in 4.6.0 loaded
from its path under a hashed module name), so a plug-in
registers classes in the ``orms`` dict of ``swift/rewards/orm.py``. GRPO then builds each
name given to ``--reward_funcs`` as ``orms[name](args=args)`` and calls it as
``reward(completions, **columns)`` (``swift/rl_core/grpo_algorithm.py``,
``compute_rewards_per_func``), with the completions as strings and the dataset's columns
(``solution``, ``images``, ...) plus ``trainer_state`` as keyword lists; ``None`` in the
returned list becomes NaN, which GRPO leaves out of the weighted sum (``nansum``).

Registered names: ``visual_rewards_<task>`` (default preset) and
``visual_rewards_<task>_<preset>`` for every other preset, e.g. ``visual_rewards_detection``,
``visual_rewards_detection_visual_rft``, ``visual_rewards_format``. Each is the library's
reward, called with TRL's convention (the same columns, ``None`` where not applicable). For
other options, register your own in a plug-in file of yours::

    from swift.rewards import ORM, orms
    from visual_rewards import get_reward
    from visual_rewards.plugins.ms_swift import orm_class

    orms["my_detection"] = orm_class(get_reward("detection", iou_threshold=0.7), ORM)
"""

from __future__ import annotations

import importlib
from collections.abc import MutableMapping
from typing import Any

from visual_rewards.rewards import REWARDS, Reward, get_reward

__all__ = ["PREFIX", "orm_class", "register"]

#: Prefix of every name this plug-in registers.
PREFIX = "visual_rewards_"


def orm_class(reward: Reward, base: type) -> type:
    """A subclass of ms-swift's ``ORM`` (``base``) that scores with ``reward``.

    It keeps ``ORM.__init__`` (ms-swift's ``args``, unused); calling an instance with
    ``(completions, **columns)`` returns one float, or None where not applicable, per
    completion. The class is named after the reward (GRPO logs ``rewards/<name>/mean``).
    """

    def __call__(self: Any, completions: list[Any], **columns: Any) -> list[float | None]:
        columns.pop("trainer_state", None)
        return reward(completions=completions, **columns)

    namespace = {
        "__call__": __call__,
        "reward": reward,
        "__module__": __name__,
        "__doc__": f"visual-rewards {reward.__name__}",
    }
    return type(reward.__name__, (base,), namespace)


def register(orms: MutableMapping[str, Any], base: type) -> list[str]:
    """Register ``visual_rewards_<task>[_<preset>]`` for every task and preset in ``orms``;
    the names, sorted.

    >>> class ORM:
    ...     def __init__(self, args=None, **kwargs): self.args = args
    >>> registry = {}
    >>> "visual_rewards_detection_visual_rft" in register(registry, ORM)
    True
    >>> registry["visual_rewards_format"]()(["<think>a</think><answer>b</answer>"])
    [1.0]
    """
    names = []
    for task, cls in REWARDS.items():
        for preset in cls.presets:
            name = PREFIX + task + ("" if preset == "default" else f"_{preset}")
            orms[name] = orm_class(get_reward(task, preset), base)
            names.append(name)
    return sorted(names)


def _register_with_swift() -> None:
    """Register in ms-swift's own registry when ms-swift is importable (it is when ms-swift
    imports this file as a plug-in); do nothing otherwise."""
    try:
        rewards = importlib.import_module("swift.rewards")
    except ImportError:
        return
    register(rewards.orms, rewards.ORM)


_register_with_swift()
