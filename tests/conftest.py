"""Hypothesis profiles: ``ci`` (fixed budget, derandomised) is the default under CI."""

import os

from hypothesis import HealthCheck, settings

from database import postgres_server, postgres_url  # noqa: F401  # fixtures for the store

settings.register_profile(
    "ci",
    max_examples=150,
    derandomize=True,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile("thorough", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


def pytest_collection_modifyitems(config: object, items: list[object]) -> None:
    """Skip the ``spark`` tests only when there is no Java to run Spark on."""
    import shutil  # noqa: PLC0415

    import pytest  # noqa: PLC0415

    if shutil.which("java") is not None:
        return
    skip = pytest.mark.skip(reason="no java on PATH: Spark cannot start (scripts/run installs one)")
    for item in items:
        if "spark" in item.keywords:  # type: ignore[attr-defined]
            item.add_marker(skip)  # type: ignore[attr-defined]
