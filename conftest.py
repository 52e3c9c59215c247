"""pytest's root conftest (not part of the package): modules doctests cannot import here.

``--doctest-modules`` imports every module under ``src/visual_rewards`` and ``docs``:
:mod:`visual_rewards.verl.manager` and ``.sampler`` import veRL, and ``docs/_ext`` imports Griffe (the docs
tools of the ``dev`` extra), so each is left out where its import is absent.
"""

from __future__ import annotations

import importlib.util

#: Paths (relative to this file) that pytest does not collect.
collect_ignore: list[str] = [
    path
    for module, path in (
        ("verl", "src/visual_rewards/verl/manager.py"),
        ("verl", "src/visual_rewards/verl/sampler.py"),
        ("griffe", "docs/_ext"),
    )
    if importlib.util.find_spec(module) is None
]
