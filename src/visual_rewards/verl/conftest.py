"""pytest (``--doctest-modules``): leave the veRL-dependent module alone where veRL is absent."""

from __future__ import annotations

import importlib.util

#: Paths pytest does not collect here; :mod:`visual_rewards.verl.manager` imports veRL.
collect_ignore: list[str] = [] if importlib.util.find_spec("verl") else ["manager.py"]
