"""Run the reward server with uvicorn (one event-loop process, ``workers`` scoring processes)."""

from __future__ import annotations

import socket
import sys

import uvicorn

from visual_rewards.serve.app import create_app
from visual_rewards.serve.batch import check_config
from visual_rewards.serve.config import ServeConfig

__all__ = ["bind", "prepare", "run_server", "serve"]


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: a free one). Connections made before the
    server starts wait in the backlog instead of being refused."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock


def prepare(config: ServeConfig) -> socket.socket:
    """Check the configured task, preset and options (ValueError/TypeError if wrong) and bind
    ``config.host:config.port`` (OSError if taken); print the URL to stderr."""
    check_config(config)
    sock = bind(config.host, config.port)
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    print(
        f"visual-rewards serve: listening on http://{shown}:{port} "
        f"({config.workers} scoring worker{'s' if config.workers != 1 else ''})",
        file=sys.stderr,
        flush=True,
    )
    return sock


def serve(config: ServeConfig, sock: socket.socket) -> None:
    """Serve on the bound ``sock`` until interrupted (Ctrl-C / SIGTERM stop it cleanly)."""
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(config),
            log_level=config.log_level,
            limit_concurrency=config.max_concurrency,
            access_log=False,
        )
    )
    server.run(sockets=[sock])


def run_server(config: ServeConfig) -> None:
    """:func:`prepare`, then :func:`serve` until interrupted."""
    serve(config, prepare(config))
