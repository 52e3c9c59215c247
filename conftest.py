"""pytest's root conftest (not part of the package): modules doctests cannot import here.

``--doctest-modules`` imports every module under ``src/visual_rewards``;
:mod:`visual_rewards.verl.manager` imports veRL, so where veRL is absent it is left out.
"""

from __future__ import annotations

import importlib.util

#: Paths (relative to this file) that pytest does not collect.
collect_ignore: list[str] = (
    [] if importlib.util.find_spec("verl") else ["src/visual_rewards/verl/manager.py"]
)
