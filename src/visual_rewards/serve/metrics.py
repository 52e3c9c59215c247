"""Request counts and latencies, rendered in Prometheus' text exposition format.

Updated only from the event loop (one thread), so no lock is needed. Label values are bounded:
an unknown path is counted as ``other``.
"""

from __future__ import annotations

import bisect
from collections import Counter
from dataclasses import dataclass, field

__all__ = ["LATENCY_BUCKETS", "ServerMetrics"]

#: Upper bounds (seconds) of the latency histogram's buckets.
LATENCY_BUCKETS: tuple[float, ...] = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)


@dataclass
class _Histogram:
    counts: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS) + 1))
    total: float = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1
        self.total += seconds


@dataclass
class ServerMetrics:
    """Counters of one server process.

    >>> m = ServerMetrics(paths=("/score",))
    >>> m.observe("/score", 200, 0.003)
    >>> print(m.render(workers=2, restarts=0).splitlines()[2])
    visual_rewards_requests_total{path="/score",status="200"} 1
    """

    paths: tuple[str, ...]
    requests: Counter[tuple[str, int]] = field(default_factory=Counter)
    items: Counter[str] = field(default_factory=Counter)
    latency: dict[str, _Histogram] = field(default_factory=dict)
    in_flight: int = 0

    def path_label(self, path: str) -> str:
        return path if path in self.paths else "other"

    def observe(self, path: str, status: int, seconds: float) -> None:
        """Count one finished request."""
        label = self.path_label(path)
        self.requests[label, status] += 1
        self.latency.setdefault(label, _Histogram()).observe(seconds)

    def render(self, workers: int, restarts: int) -> str:
        """The Prometheus text exposition (version 0.0.4) of every metric."""
        lines = [
            "# HELP visual_rewards_requests_total HTTP requests by path and status code.",
            "# TYPE visual_rewards_requests_total counter",
        ]
        for (path, status), n in sorted(self.requests.items()):
            lines.append(f'visual_rewards_requests_total{{path="{path}",status="{status}"}} {n}')
        lines += [
            "# HELP visual_rewards_items_total Items scored, by path.",
            "# TYPE visual_rewards_items_total counter",
        ]
        lines += [
            f'visual_rewards_items_total{{path="{p}"}} {n}' for p, n in sorted(self.items.items())
        ]
        lines += [
            "# HELP visual_rewards_request_seconds Request latency (first byte in to last byte out).",
            "# TYPE visual_rewards_request_seconds histogram",
        ]
        for path, hist in sorted(self.latency.items()):
            running = 0
            for bound, n in zip((*LATENCY_BUCKETS, float("inf")), hist.counts, strict=True):
                running += n
                le = "+Inf" if bound == float("inf") else repr(bound)
                lines.append(
                    f'visual_rewards_request_seconds_bucket{{path="{path}",le="{le}"}} {running}'
                )
            lines.append(f'visual_rewards_request_seconds_sum{{path="{path}"}} {hist.total!r}')
            lines.append(f'visual_rewards_request_seconds_count{{path="{path}"}} {running}')
        lines += [
            "# TYPE visual_rewards_requests_in_flight gauge",
            f"visual_rewards_requests_in_flight {self.in_flight}",
            "# TYPE visual_rewards_workers gauge",
            f"visual_rewards_workers {workers}",
            "# HELP visual_rewards_worker_pool_restarts_total Worker pools replaced after a worker died.",
            "# TYPE visual_rewards_worker_pool_restarts_total counter",
            f"visual_rewards_worker_pool_restarts_total {restarts}",
        ]
        return "\n".join(lines) + "\n"
