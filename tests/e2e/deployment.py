"""A real Airflow deployment for the end-to-end tests and benchmarks.

A temporary ``AIRFLOW_HOME`` with SQLite; ``airflow api-server``,
``scheduler`` (LocalExecutor), ``dag-processor`` and ``triggerer`` as
separate processes, each in its own process group (Airflow traps SIGTERM:
what does not stop within 30 s gets SIGKILL); the simple auth manager with
one user kept out of a DAG (:mod:`tests.e2e.auth_manager`). The cluster is
whatever ``kubeconfig_path`` names, behind the ``kubernetes_default``
connection. Components can be stopped, frozen and started again (a second
triggerer too), to test what a triggerer restart or a handover does.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import requests
from cryptography.fernet import Fernet

from tests.e2e.auth_manager import OUTSIDER

__all__ = ["COMPONENTS", "PASSWORDS", "ROOT", "Airflow", "deployment", "free_port", "wait_for"]

ROOT = Path(__file__).resolve().parents[2]
AIRFLOW = Path(sys.executable).with_name("airflow")
PASSWORDS = {"admin": "admin-pw", OUTSIDER: "outsider-pw"}
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(what: str, check: Callable[[], Any], timeout: float, every: float = 0.5) -> Any:
    """Call ``check`` until it returns something true (returned); fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except (requests.RequestException, KeyError, ValueError) as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}: {last!r}")


class Airflow:
    """The Airflow components in their own process groups, and a REST client.

    ``processes`` maps a component's name (``triggerer``, or ``triggerer-b``
    for a second one) to its process; its output goes to ``<name>.log`` in
    the home, appended across restarts.
    """

    def __init__(self, home: Path, env: dict[str, str], port: int) -> None:
        self.home = home
        self.env = env
        self.url = f"http://127.0.0.1:{port}"
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self) -> None:
        """Migrate the database, start the four components, wait for the API server."""
        subprocess.run(
            [str(AIRFLOW), "db", "migrate"], env=self.env, check=True, capture_output=True
        )
        for name in COMPONENTS:
            self.start_component(name)
        wait_for(
            "the API server",
            lambda: requests.get(f"{self.url}/api/v2/monitor/health", timeout=5).ok,
            timeout=120,
        )

    def start_component(self, name: str) -> None:
        """Start one component (``triggerer-b``: one more triggerer)."""
        command = name.removesuffix("-b")
        args = [str(AIRFLOW), command]
        if command == "api-server":
            args += ["--port", self.url.rsplit(":", 1)[1], "--host", "127.0.0.1"]
        with (self.home / f"{name}.log").open("ab") as log:
            self.processes[name] = subprocess.Popen(
                args,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=self.home,
            )

    def stop_component(self, name: str, sig: signal.Signals = signal.SIGTERM) -> None:
        """Stop one component with ``sig`` (SIGKILL after 30 s) and wait for its group."""
        process = self.processes.pop(name, None)
        if process is None:
            return
        _signal_group(process, sig)
        _signal_group(process, signal.SIGCONT)  # a frozen one must see the signal
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            _signal_group(process, signal.SIGKILL)
            process.wait(timeout=10)
        _signal_group(process, signal.SIGKILL)  # children left in its group, if any

    def signal_component(self, name: str, sig: signal.Signals) -> None:
        """Send ``sig`` to a component's process group (SIGSTOP/SIGCONT freeze and thaw it)."""
        _signal_group(self.processes[name], sig)

    def stop(self) -> None:
        """Stop every component (SIGTERM, then SIGKILL what is left)."""
        for process in self.processes.values():
            _signal_group(process, signal.SIGCONT)
            _signal_group(process, signal.SIGTERM)
        for name in list(self.processes):
            self.stop_component(name)

    def token(self, user: str) -> str:
        """A JWT for ``user`` (password from :data:`PASSWORDS`)."""
        response = requests.post(
            f"{self.url}/auth/token",
            json={"username": user, "password": PASSWORDS[user]},
            timeout=10,
        )
        response.raise_for_status()
        return str(response.json()["access_token"])

    def api(self, method: str, path: str, token: str, **kwargs: Any) -> requests.Response:
        """One request to the public API as the token's user."""
        return requests.request(
            method,
            f"{self.url}{path}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
            **kwargs,
        )

    def log(self, name: str) -> str:
        """A component's whole output so far."""
        path = self.home / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def logs(self) -> str:
        """The tail of every component's output, for a failure message."""
        names = dict.fromkeys((*COMPONENTS, *self.processes))
        return "\n".join(f"== {name}.log (tail)\n" + self.log(name)[-3000:] for name in names)


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)


def environment(home: Path, port: int, kubeconfig_path: str) -> dict[str, str]:
    """The components' environment: this one without ``AIRFLOW*``, plus the deployment's."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("AIRFLOW") and key != "_AIRFLOW_PROVIDER_MPI_TEST_HOME"
    }
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "PYTHONPATH": str(ROOT),
            "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
            "AIRFLOW__CORE__AUTH_MANAGER": "tests.e2e.auth_manager.OneDagHiddenAuthManager",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"admin:admin,{OUTSIDER}:viewer",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
            "AIRFLOW__API_AUTH__JWT_SECRET": "e2e-" + Fernet.generate_key().decode(),
            "AIRFLOW__API__SECRET_KEY": "e2e-" + Fernet.generate_key().decode(),
            "AIRFLOW__SCHEDULER__MIN_FILE_PROCESS_INTERVAL": "5",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW_CONN_KUBERNETES_DEFAULT": json.dumps(
                {
                    "conn_type": "kubernetes",
                    "extra": {"kube_config_path": kubeconfig_path, "namespace": "default"},
                }
            ),
        }
    )
    return env


@contextlib.contextmanager
def deployment(
    home: Path, kubeconfig_path: str, dags: Iterable[Path], **settings: str
) -> Iterator[Airflow]:
    """Start a deployment in ``home`` with ``dags`` copied in; stop every process at the end.

    ``settings`` are extra environment variables (``AIRFLOW__SECTION__KEY``).
    """
    (home / "dags").mkdir(exist_ok=True)
    for dag in dags:
        shutil.copy(dag, home / "dags")
    (home / "passwords.json").write_text(json.dumps(PASSWORDS))
    port = free_port()
    env = environment(home, port, kubeconfig_path)
    env.update(settings)
    stack = Airflow(home, env, port)
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()
