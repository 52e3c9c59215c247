"""pytest plugin for mutation runs: ``scripts/mutation.sh`` loads it with ``-p pytest_mutation``.

Under a mutant, a failing hypothesis test would spend most of its time shrinking the failing
example, which nobody reads here, and a machine under load could fail a health check, which
would count as a kill. This profile generates examples without shrinking, from a fixed seed
(the same mutants die on every run), with no deadline, no health checks and no example
database. Loaded before the test modules are imported, so it is the parent of every
``@settings(...)`` in them (their ``max_examples`` is kept).
"""

from __future__ import annotations

from hypothesis import HealthCheck, Phase, settings

settings.register_profile(
    "mutation",
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)
settings.load_profile("mutation")
