"""Command line: run the emulated cluster, or the real control plane, until stopped.

``python -m airflow_provider_mpi.testing serve`` starts an :class:`MPICluster`,
writes its kubeconfig, prints where to find it, and serves until SIGINT or
SIGTERM, so ``kubectl``, a DAG run or a notebook can use the cluster.

``serve --real`` does the same with a
:class:`~airflow_provider_mpi.testing.real.RealCluster` (real kube-apiserver
and mpi-operator v0.8.2): it builds what is missing first, printing progress,
and writes the kubeconfig only once the MPIJob CRD is Established and the
operator runs. ``build-real`` only builds.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

__all__ = ["build_parser", "main"]


def _speed(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--speed must be a number > 0, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"--speed must be a number > 0, got {text!r}")
    return value


def _port(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"--port must be from 0 to 65535, got {text!r}")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (``serve`` and ``build-real``)."""
    parser = argparse.ArgumentParser(
        prog="python -m airflow_provider_mpi.testing",
        description="An emulated Kubernetes cluster with the Kubeflow MPI operator, on 127.0.0.1.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="serve the emulated cluster until stopped")
    serve.add_argument(
        "--real",
        action="store_true",
        help="a real control plane (kube-apiserver v1.35.4, mpi-operator v0.8.2, built from"
        " Go modules on first use) instead of the emulator",
    )
    serve.add_argument(
        "--port", type=_port, default=0, help="port on 127.0.0.1 (default: any free port)"
    )
    serve.add_argument("--kubeconfig", metavar="PATH", help="also write the kubeconfig to PATH")
    serve.add_argument(
        "--local-exec",
        action="store_true",
        help="run launcher commands as real local processes (off by default)",
    )
    serve.add_argument(
        "--speed", type=_speed, default=1.0, help="emulated seconds per real second (default: 1)"
    )
    serve.add_argument("--namespace", default="default", help="namespace of the kubeconfig context")
    serve.add_argument("--token", help="bearer token (default: a random one)")
    serve.add_argument(
        "--plain-http",
        action="store_true",
        help="serve HTTP instead of HTTPS (kubectl will not send the token then)",
    )
    serve.add_argument(
        "--without-operator",
        action="store_true",
        help="a cluster without the MPI operator and its CRD",
    )
    commands.add_parser(
        "build-real",
        help="build the real control plane's binaries from Go modules (what is missing)",
    )
    return parser


class _Stop(Exception):
    """SIGTERM while the real control plane starts: unwind and stop what was started."""


def _build_real() -> int:
    from airflow_provider_mpi.testing.real import Builder, RealClusterError

    builder = Builder()
    try:
        paths = builder.ensure()
    except RealClusterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for name, path in paths.items():
        print(f"{name}: {path}")
    return 0


def _serve_real(args: argparse.Namespace, stop: threading.Event) -> int:
    from airflow_provider_mpi.testing.real import RealCluster, RealClusterError

    if args.local_exec or args.plain_http or args.without_operator or args.token:
        print(
            "error: --local-exec, --plain-http, --without-operator and --token are emulator"
            " options; the real control plane always serves TLS with the operator installed",
            file=sys.stderr,
        )
        return 2
    if args.speed != 1.0:
        print(
            "error: --speed is an emulator option (real clusters run in real time)", file=sys.stderr
        )
        return 2
    starting = True

    def on_term(number: int, frame: FrameType | None) -> None:
        if starting:
            raise _Stop
        stop.set()

    signal.signal(signal.SIGTERM, on_term)
    cluster = RealCluster(
        port=args.port,
        namespace=args.namespace,
        progress=lambda line: print(line, flush=True),
    )
    try:
        print("starting the real control plane ...", flush=True)
        with cluster:
            starting = False
            kubeconfig = cluster.kubeconfig_path
            if args.kubeconfig:
                kubeconfig = cluster.write_kubeconfig(args.kubeconfig)
            print(
                f"real Kubernetes v1.35.4 with mpi-operator v0.8.2 serving on {cluster.url}"
                f" (ready in {cluster.timings['start']:.1f} s)",
                flush=True,
            )
            print(f"kubeconfig: {kubeconfig}", flush=True)
            print(f"admin kubeconfig: {cluster.admin_kubeconfig_path}", flush=True)
            print(f"try: KUBECONFIG={kubeconfig} kubectl get mpijobs", flush=True)
            while not stop.wait(0.5):
                cluster.check_alive()
            print("stopping", flush=True)
    except (KeyboardInterrupt, _Stop):
        if not starting:
            print("stopped", flush=True)
            return 0
        print("interrupted while starting: stopped every process", file=sys.stderr, flush=True)
        return 130
    except RealClusterError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line.

    Args:
        argv: Arguments without the program name (default: ``sys.argv[1:]``).

    Returns:
        The exit status.
    """
    args = build_parser().parse_args(argv)
    if args.command == "build-real":
        return _build_real()
    from airflow_provider_mpi.testing.cluster import MPICluster

    stop = threading.Event()

    def on_signal(number: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        if args.real:
            # SIGINT stays KeyboardInterrupt while starting, so a start can be cancelled.
            signal.signal(signal.SIGINT, signal.default_int_handler)
            return _serve_real(args, stop)
        with MPICluster(
            port=args.port,
            local_exec=args.local_exec,
            clock=args.speed,
            namespace=args.namespace,
            token=args.token,
            operator_installed=not args.without_operator,
            tls=not args.plain_http,
        ) as cluster:
            kubeconfig = cluster.kubeconfig_path
            if args.kubeconfig:
                kubeconfig = cluster.write_kubeconfig(args.kubeconfig)
            print(f"MPI operator emulator serving on {cluster.url}", flush=True)
            print(f"kubeconfig: {kubeconfig}", flush=True)
            print(f"try: KUBECONFIG={kubeconfig} kubectl get mpijobs", flush=True)
            if args.local_exec:
                print("local execution is on: launcher commands run on this machine", flush=True)
            while not stop.wait(0.5):
                pass
            print("stopping", flush=True)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


if __name__ == "__main__":
    sys.exit(main())
