"""``python -m airflow_provider_mpi.testing serve``: serves until SIGTERM/SIGINT."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import kubernetes
import pytest

from airflow_provider_mpi.testing.__main__ import build_parser


def start(*args: str) -> tuple[subprocess.Popen[str], dict[str, str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_mpi.testing", "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    seen: dict[str, str] = {}
    for line in process.stdout:
        if line.startswith("MPI operator emulator serving on "):
            seen["url"] = line.split(" on ", 1)[1].strip()
        if line.startswith("kubeconfig: "):
            seen["kubeconfig"] = line.split(": ", 1)[1].strip()
            break
    return process, seen


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_serve_writes_a_kubeconfig_and_stops_on_a_signal(
    tmp_path: Path, stop_signal: signal.Signals
) -> None:
    path = tmp_path / "config"
    process, seen = start("--kubeconfig", str(path), "--speed", "5")
    try:
        assert seen["kubeconfig"] == str(path)
        assert seen["url"].startswith("https://127.0.0.1:")
        with kubernetes.config.new_client_from_config(config_file=str(path)) as client:
            namespaces = kubernetes.client.CoreV1Api(client).list_namespace().items
            assert "default" in [n.metadata.name for n in namespaces]
            crds = kubernetes.client.ApiextensionsV1Api(client).list_custom_resource_definition()
            assert [c.metadata.name for c in crds.items] == ["mpijobs.kubeflow.org"]
    finally:
        process.send_signal(stop_signal)
        output, _ = process.communicate(timeout=20)
    assert process.returncode == 0
    assert "stopping" in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["serve", "--speed", "0"], "--speed must be a number > 0"),
        (["serve", "--port", "99999"], "--port must be from 0 to 65535"),
        ([], "the following arguments are required: COMMAND"),
    ],
)
def test_bad_arguments_are_named(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        build_parser().parse_args(args)
    assert caught.value.code == 2
    assert message in capsys.readouterr().err
