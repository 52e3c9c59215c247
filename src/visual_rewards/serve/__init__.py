"""``visual-rewards serve``: the rewards over HTTP, for trainers that call a URL (OpenRLHF).

Needs the ``serve`` extra (FastAPI and uvicorn), imported only when the server starts:
``import visual_rewards.serve`` and ``visual-rewards serve --help`` work without them.

>>> from visual_rewards.serve import ServeConfig
>>> ServeConfig(task="detection").host
'127.0.0.1'
"""

from __future__ import annotations

from visual_rewards.serve.config import ServeConfig

__all__ = ["ServeConfig", "run_server"]


def run_server(config: ServeConfig) -> None:
    """Serve the rewards with ``config`` until interrupted (see :mod:`visual_rewards.serve.server`)."""
    from visual_rewards.serve.server import run_server as run

    run(config)
