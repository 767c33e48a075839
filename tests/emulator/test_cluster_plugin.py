"""The pytest plugin as a user's test suite sees it (loaded by its entry point)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

USER_TESTS = textwrap.dedent(
    """
    import pytest
    from airflow_provider_mpi.testing.clock import ManualClock

    @pytest.mark.mpi_cluster(clock="manual", namespace="ci")
    def test_marker_options(mpi_cluster):
        assert isinstance(mpi_cluster.clock, ManualClock)
        assert mpi_cluster.namespace == "ci"
        mpi_cluster.advance(1)

    def test_factory(mpi_cluster_factory):
        first = mpi_cluster_factory(clock="manual")
        second = mpi_cluster_factory(clock="manual", operator_installed=False)
        assert first.url != second.url

    @pytest.mark.mpi_cluster(speed=3)
    def test_unknown_option(mpi_cluster):
        pass

    @pytest.mark.mpi_cluster("manual")
    def test_positional_option(mpi_cluster):
        pass
    """
)


def test_fixtures_marker_and_messages(tmp_path: Path) -> None:
    (tmp_path / "test_user.py").write_text(USER_TESTS, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rE", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    out = result.stdout
    assert "2 passed, 2 errors" in out, out
    assert "@pytest.mark.mpi_cluster got unknown option(s) ['speed']; known: local_exec" in out
    assert "@pytest.mark.mpi_cluster takes keyword arguments only" in out
