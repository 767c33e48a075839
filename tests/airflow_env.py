"""A private Airflow home for the test session, set up before Airflow is imported.

Importing Airflow reads (and creates) ``$AIRFLOW_HOME``, ``~/airflow`` by
default. Tests must never touch the user's home, so every test module that
imports Airflow imports this module first (and ``tests/dags/conftest.py`` does
too). The home is a temporary directory with a SQLite database, shared by the
whole pytest process and removed at exit.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

from cryptography.fernet import Fernet

__all__ = ["AIRFLOW_HOME", "init_airflow_db"]

_MARKER = "_AIRFLOW_PROVIDER_MPI_TEST_HOME"


def _setup() -> Path:
    existing = os.environ.get(_MARKER)
    if existing:
        return Path(existing)
    home = Path(tempfile.mkdtemp(prefix="airflow-provider-mpi-home-"))
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    (home / "dags").mkdir()
    os.environ.update(
        {
            _MARKER: str(home),
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
            "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
            # Trigger kwargs and connections are stored encrypted, as in production.
            "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
        }
    )
    return home


AIRFLOW_HOME = _setup()
_db_ready = False


def init_airflow_db() -> None:
    """Create the metadata database once per process (Airflow 3 needs it for ``dag.test``)."""
    global _db_ready
    if _db_ready:
        return
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.utils import db

    db.initdb()
    DagBundlesManager().sync_bundles_to_db()
    _db_ready = True
