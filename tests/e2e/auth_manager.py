"""An auth manager for the browser test: Airflow's simple one, with one user kept out of a DAG.

The simple auth manager's roles all read every DAG; this subclass refuses the
user ``outsider`` (a viewer) any access to ``example_mpi_pi``, as a real auth
manager with per-DAG permissions would, so the test can check that the "MPI
Jobs" pages honour the auth manager's answer.
"""

from __future__ import annotations

from typing import Any

from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager

OUTSIDER = "outsider"
HIDDEN_DAG = "example_mpi_pi"


class OneDagHiddenAuthManager(SimpleAuthManager):
    """Simple auth manager; ``outsider`` may not see ``example_mpi_pi``."""

    def is_authorized_dag(self, *, method: Any, user: Any, **kwargs: Any) -> bool:
        details = kwargs.get("details")
        if user.get_name() == OUTSIDER and getattr(details, "id", None) == HIDDEN_DAG:
            return False
        return bool(super().is_authorized_dag(method=method, user=user, **kwargs))
