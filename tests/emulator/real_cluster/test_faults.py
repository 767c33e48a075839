"""Bad input and faults of the real control plane: a clear message, no hang, no leftover process.

Fake binaries (shell scripts in a fake cache) stand for the components where
the real ones are not needed, so these tests run without a Go build.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_provider_mpi.testing.real import (
    Builder,
    ComponentExitedError,
    GoToolchainMissingError,
    ModuleUnavailableError,
    PortInUseError,
    RealCluster,
)
from airflow_provider_mpi.testing.real.build import find_go
from airflow_provider_mpi.testing.real.cluster import OPERATOR_HEALTH_PORT
from airflow_provider_mpi.testing.real.versions import Component
from tests.emulator.real_cluster.conftest import children_of, fake_cache, wait_gone

# Waiting for another session's cluster may take minutes.
pytestmark = [pytest.mark.timeout(1200), pytest.mark.usefixtures("machine")]

NOWHERE = "/nonexistent/bin/go"


def _leftovers() -> list[int]:
    return [pid for pid in children_of(os.getpid()) if Path(f"/proc/{pid}").exists()]


# ------------------------------------------------------------------ no Go


def test_find_go_with_an_empty_path_names_what_is_missing():
    with pytest.raises(GoToolchainMissingError, match=r"no Go toolchain: 'go' was not found"):
        find_go("go", environ={"PATH": ""})


def test_a_go_that_does_not_exist_is_named_with_the_fix(tmp_path):
    builder = Builder(tmp_path, go=NOWHERE, progress=lambda line: None)
    with pytest.raises(GoToolchainMissingError) as caught:
        builder.ensure()
    message = str(caught.value)
    assert NOWHERE in message
    assert "MPI_REAL_CLUSTER_GO" in message
    assert "install Go" in message
    assert list(tmp_path.iterdir()) == []


def test_a_go_that_fails_to_run_is_refused(tmp_path):
    broken = tmp_path / "go"
    broken.write_text("#!/bin/sh\necho 'go: cannot find GOROOT directory' >&2\nexit 2\n")
    broken.chmod(0o755)
    with pytest.raises(GoToolchainMissingError, match="cannot find GOROOT"):
        find_go(str(broken))


def test_real_cluster_without_go_fails_before_starting_anything(tmp_path):
    from airflow_provider_mpi.testing.real.group import PortClaim

    # The machine taken (by this test, or already by another cluster): no Go fails at
    # once, without waiting for the machine to be free first.
    other = PortClaim(OPERATOR_HEALTH_PORT, "mpi-operator's health check", "one per machine")
    try:
        other.acquire()
    except PortInUseError:
        other = None
    cluster = RealCluster(cache=tmp_path, go=NOWHERE, wait_for_machine=900)
    began = time.monotonic()
    try:
        with pytest.raises(GoToolchainMissingError):
            cluster.start()
    finally:
        if other is not None:
            other.release()
    assert time.monotonic() - began < 60
    assert _leftovers() == []
    assert cluster.pids == {}
    assert cluster.logs == {}
    assert list(tmp_path.iterdir()) == []


def test_build_real_command_without_go_exits_1_with_the_reason(tmp_path):
    env = {**os.environ, "MPI_REAL_CLUSTER_CACHE": str(tmp_path), "MPI_REAL_CLUSTER_GO": NOWHERE}
    result = subprocess.run(
        [sys.executable, "-m", "airflow_provider_mpi.testing", "build-real"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert f"no Go toolchain: '{NOWHERE}'" in result.stderr


# ------------------------------------------------------- refused modules


def test_a_module_the_proxy_refuses_is_named_with_its_version(tmp_path):
    try:
        go = find_go()
    except GoToolchainMissingError as exc:
        pytest.skip(str(exc))
    absent = Component(
        name="absent",
        module="example.invalid/no/such/module",
        version="v1.2.3",
        packages=("example.invalid/no/such/module/cmd/x",),
    )
    environ = {
        **os.environ,
        "GOPROXY": "off",
        "GOMODCACHE": str(tmp_path / "modcache"),
        "GOFLAGS": "-modcacherw",
    }
    builder = Builder(tmp_path / "cache", go=go, progress=lambda line: None, environ=environ)
    with pytest.raises(ModuleUnavailableError) as caught:
        builder.ensure([absent])
    assert caught.value.module == "example.invalid/no/such/module"
    assert caught.value.version == "v1.2.3"
    assert "example.invalid/no/such/module@v1.2.3" in str(caught.value)
    assert not builder.is_built(absent)


# ------------------------------------------------------------ ports


def test_a_requested_port_in_use_is_refused_before_anything_starts(tmp_path):
    cache = fake_cache(tmp_path, {})
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        cluster = RealCluster(cache=cache, port=port, build=False)
        with pytest.raises(PortInUseError, match=f"port {port} on 127.0.0.1 is already in use"):
            cluster.start()
    assert _leftovers() == []


def test_the_operator_health_port_in_use_is_named(tmp_path):
    cache = fake_cache(tmp_path, {})
    with socket.socket() as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            taken.bind(("127.0.0.1", OPERATOR_HEALTH_PORT))
        except OSError:
            pytest.skip(f"port {OPERATOR_HEALTH_PORT} is used by something else on this machine")
        taken.listen()
        with pytest.raises(PortInUseError, match="mpi-operator's health check") as caught:
            RealCluster(cache=cache, build=False, wait_for_machine=0).start()
    assert "hard-coded in mpi-operator v0.8.2" in str(caught.value)


def test_a_bad_port_or_component_name_is_refused_at_once():
    with pytest.raises(ValueError, match="port must be from 0 to 65535, got 70000"):
        RealCluster(port=70000)
    with pytest.raises(ValueError, match=r"extra_args names no component: \['kubelet'\]"):
        RealCluster(extra_args={"kubelet": ["--v=2"]})
    with pytest.raises(ValueError, match=r"namespace must be a DNS-1123 label.*got 'My_Jobs'"):
        RealCluster(namespace="My_Jobs")
    with pytest.raises(ValueError, match="start_timeout must be > 0 seconds, got 0"):
        RealCluster(start_timeout=0)


# ---------------------------------------------------- early exits


def test_a_binary_that_exits_early_is_reported_with_its_log(tmp_path):
    cache = fake_cache(
        tmp_path,
        {
            "etcd": "echo 'etcdmain: listen tcp 127.0.0.1:2379: bind: address already in use' >&2\n"
            "exit 3\n"
        },
    )
    with pytest.raises(ComponentExitedError) as caught:
        RealCluster(cache=cache, build=False, start_timeout=60).start()
    error = caught.value
    assert error.name == "etcd"
    assert error.returncode == 3
    assert "bind: address already in use" in str(error)
    assert _leftovers() == []
    # The start's private folder (certificates, logs) is gone with it.
    assert not Path(error.log_path).parents[1].exists()


def test_a_binary_that_never_gets_ready_times_out_and_is_stopped(tmp_path):
    cache = fake_cache(tmp_path, {})  # etcd "runs" (sleeps) but never answers
    from airflow_provider_mpi.testing.real import ComponentNotReadyError

    with pytest.raises(ComponentNotReadyError, match=r"etcd did not become ready within 2 s"):
        RealCluster(cache=cache, build=False, start_timeout=2).start()
    assert wait_gone(_leftovers(), timeout=15) == []


# --------------------------------------------------- parent killed


_SPAWNER = """
import sys, time
from pathlib import Path
from airflow_provider_mpi.testing.real.procs import spawn
child = spawn(["sleep", "600"], log_path=Path(sys.argv[1]))
print(child.pid, flush=True)
time.sleep(600)
"""


def test_children_die_when_the_parent_is_sigkilled(tmp_path):
    parent = subprocess.Popen(
        [sys.executable, "-c", _SPAWNER, str(tmp_path / "sleep.log")],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        assert wait_gone([child], timeout=0.5) == [child]
        parent.kill()
        parent.wait(10)
        assert wait_gone([child], timeout=15) == []
    finally:
        parent.kill()
        parent.wait(10)


def test_a_second_cluster_names_the_one_holding_the_operator_port(tmp_path):
    from airflow_provider_mpi.testing.real.group import PortClaim

    first = PortClaim(OPERATOR_HEALTH_PORT, "mpi-operator's health check", "one per machine")
    try:
        first.acquire()
    except PortInUseError as exc:
        pytest.skip(f"another cluster runs on this machine: {exc}")
    try:
        with pytest.raises(PortInUseError, match=f"held by another RealCluster: pid {os.getpid()}"):
            RealCluster(cache=fake_cache(tmp_path, {}), build=False, wait_for_machine=0).start()
    finally:
        first.release()


@pytest.fixture
def held_port() -> Iterator[tuple[int, socket.socket]]:
    """A port of its own (its claim file removed after), listened on as an operator would."""
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    try:
        yield port, holder
    finally:
        holder.close()
        (Path(tempfile.gettempdir()) / f"mpi-real-cluster-port-{port}.lock").unlink(missing_ok=True)


def test_a_claim_with_a_wait_waits_for_a_dying_operator_to_free_the_port(held_port):
    from airflow_provider_mpi.testing.real.group import PortClaim

    # A killed cluster gives its claim up as it dies, its operator the port a moment later.
    port, holder = held_port
    threading.Timer(0.5, holder.close).start()
    claim = PortClaim(port, "mpi-operator's health check", "one per machine")
    began = time.monotonic()
    claim.acquire(wait=30)
    try:
        assert time.monotonic() - began >= 0.4
    finally:
        claim.release()


def test_a_port_another_program_keeps_is_refused_after_the_grace(held_port, monkeypatch):
    from airflow_provider_mpi.testing.real.group import PortClaim

    port, _ = held_port
    monkeypatch.setattr(PortClaim, "PORT_GRACE", 0.5)
    claim = PortClaim(port, "mpi-operator's health check", "one per machine")
    began = time.monotonic()
    with pytest.raises(PortInUseError, match=f"port {port} on 127.0.0.1 is already in use"):
        claim.acquire(wait=900)  # the grace bounds the wait for the port, not the claim's wait
    assert 0.4 <= time.monotonic() - began < 10
    began = time.monotonic()
    with pytest.raises(PortInUseError):
        claim.acquire(wait=0)  # no wait: refused at once
    assert time.monotonic() - began < 0.4


@pytest.mark.parametrize(
    ("option", "named"),
    [
        (["--speed", "2"], "--speed"),
        (["--local-exec"], "--local-exec"),
        (["--token", "x"], "--token"),
    ],
)
def test_serve_real_refuses_emulator_options_before_starting(capsys, option, named):
    from airflow_provider_mpi.testing.__main__ import main

    assert main(["serve", "--real", *option]) == 2
    assert named in capsys.readouterr().err
    assert _leftovers() == []


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_real_stopped_while_starting_stops_what_it_started(tmp_path, sig):
    # etcd "starts" but never answers: the server is stuck waiting for it when signalled.
    env = {**os.environ, "MPI_REAL_CLUSTER_CACHE": str(fake_cache(tmp_path, {}))}
    server = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_mpi.testing", "serve", "--real"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 900  # another session's cluster may hold the machine
        while not children_of(server.pid):
            assert server.poll() is None
            assert time.monotonic() < deadline, "etcd was never started"
            time.sleep(0.05)
        etcd = children_of(server.pid)
        server.send_signal(sig)
        output, _ = server.communicate(timeout=60)
        assert server.returncode == 130, output
        assert "interrupted while starting: stopped every process" in output
        assert wait_gone(etcd, timeout=15) == []
    finally:
        server.kill()
        server.wait(10)
