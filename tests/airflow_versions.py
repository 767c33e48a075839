"""The running Airflow's version, for the few tests of features older Airflow 3 releases lack.

``make compat`` runs the suite on Airflow 3.0, 3.1 and 3.2 as well as the main
venv's 3.3. A test of behaviour a release does not have is skipped there with
:func:`needs_airflow`, whose reason names the version and the missing feature.
"""

from __future__ import annotations

import airflow
import pytest
from packaging.version import Version

__all__ = ["AIRFLOW_VERSION", "airflow_at_least", "broken_before", "needs_airflow"]

#: The running Airflow's release (``3.3.2``), without local or pre-release parts.
AIRFLOW_VERSION = Version(Version(airflow.__version__).base_version)


def airflow_at_least(version: str) -> bool:
    """Whether the running Airflow is ``version`` (e.g. ``"3.1"``) or newer."""
    return Version(version) <= AIRFLOW_VERSION


def needs_airflow(version: str, feature: str) -> pytest.MarkDecorator:
    """Skip a test on Airflow releases older than ``version``, which lack ``feature``.

    Args:
        version: the first Airflow release with the feature, e.g. ``"3.2"``.
        feature: what the test relies on, in words.

    Returns:
        A ``skipif`` mark whose reason names the running version and the feature.
    """
    return pytest.mark.skipif(
        not airflow_at_least(version),
        reason=f"Airflow {AIRFLOW_VERSION} < {version}: {feature}",
    )


def broken_before(version: str, limitation: str) -> pytest.MarkDecorator:
    """Expect a test to fail on Airflow releases older than ``version``, for ``limitation``.

    Strict: should the older release pass after all, the run says so.

    Args:
        version: the first Airflow release without the limitation, e.g. ``"3.1"``.
        limitation: what the older release does, in words.

    Returns:
        An ``xfail`` mark whose reason names the running version and the limitation.
    """
    return pytest.mark.xfail(
        not airflow_at_least(version),
        reason=f"Airflow {AIRFLOW_VERSION} < {version}: {limitation}",
        strict=True,
    )
