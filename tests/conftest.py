"""The test suite's root: no test may reach the user's kubeconfig or a real cluster.

Every cluster a test talks to is an emulated one whose kubeconfig the test
passes explicitly. ``KUBECONFIG`` points at a file that does not exist, so a
client that falls back to the default configuration fails loudly instead of
using ``~/.kube/config``.
"""

from __future__ import annotations

import os
import tempfile

import pytest

# Before anything imports Airflow: a private, temporary AIRFLOW_HOME with SQLite,
# so no test can touch ~/airflow.
import tests.airflow_env  # noqa: F401


def pytest_configure(config: pytest.Config) -> None:
    """Point ``KUBECONFIG`` at a missing file for the whole session."""
    missing = os.path.join(tempfile.gettempdir(), f"no-kubeconfig-{os.getpid()}", "config")
    os.environ["KUBECONFIG"] = missing
