"""A TCP proxy that adds a fixed network delay, to stand a local API server at a distance.

On this machine the client and kube-apiserver share one loopback: a request
costs the server's CPU and nothing else. A cluster's API server is usually
across a network, one or more milliseconds away. This proxy adds half of a
chosen round-trip time to every chunk in each direction, keeping the order of
the bytes and the connections as they are (TLS goes through untouched; the
server's certificate names 127.0.0.1, whatever the port), so a benchmark can
measure the same client against the same real server at several distances.

It runs in a process of its own, so that its CPU time is not the client's:
``LatencyProxy(upstream_port, rtt_ms)`` starts it and is a context manager;
``kubeconfig_via(path, port, into)`` writes a copy of a kubeconfig whose
servers point at the proxy.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from contextlib import suppress
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import yaml

CHUNK = 65536


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    """Copy ``reader`` to ``writer``, each chunk ``delay`` seconds after it arrived, in order."""
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def deliver() -> None:
        while True:
            due, data = await queue.get()
            if not data:
                break
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()
        with suppress(OSError):
            writer.write_eof()

    delivering = asyncio.create_task(deliver())
    try:
        while True:
            data = await reader.read(CHUNK)
            queue.put_nowait((time.monotonic() + delay, data))
            if not data:
                break
        await delivering
    except (ConnectionError, OSError):
        delivering.cancel()
    finally:
        writer.close()


async def _serve(upstream_port: int, delay: float) -> None:
    async def connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", upstream_port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(
            _pump(reader, up_writer, delay),
            _pump(up_reader, writer, delay),
            return_exceptions=True,
        )

    server = await asyncio.start_server(connect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    print(port, flush=True)
    async with server:
        await server.serve_forever()


class LatencyProxy:
    """The proxy in a child process: ``port`` once started; stopped on exit."""

    def __init__(self, upstream_port: int, rtt_ms: float) -> None:
        self.upstream_port = upstream_port
        self.rtt_ms = rtt_ms
        self.port = 0
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> LatencyProxy:
        self._process = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--upstream-port",
                str(self.upstream_port),
                "--rtt-ms",
                str(self.rtt_ms),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline().strip()
        if not line.isdigit():
            self._process.kill()
            raise RuntimeError(f"the latency proxy did not start (it printed {line!r})")
        self.port = int(line)
        return self

    @property
    def pid(self) -> int:
        """The proxy process's id (its CPU is neither the client's nor the server's)."""
        if self._process is None:
            raise RuntimeError("the latency proxy is not started")
        return self._process.pid

    def __exit__(self, *exc: object) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait()


def server_port(kubeconfig: str) -> int:
    """The port of the (first) cluster's server in a kubeconfig."""
    document = yaml.safe_load(Path(kubeconfig).read_text())
    url = urlsplit(document["clusters"][0]["cluster"]["server"])
    return url.port or 443


def kubeconfig_via(kubeconfig: str, port: int, into: Path) -> str:
    """A copy of ``kubeconfig`` whose servers are 127.0.0.1:``port`` (the proxy)."""
    document = yaml.safe_load(Path(kubeconfig).read_text())
    for entry in document["clusters"]:
        url = urlsplit(entry["cluster"]["server"])
        entry["cluster"]["server"] = urlunsplit(url._replace(netloc=f"127.0.0.1:{port}"))
    into.write_text(yaml.safe_dump(document))
    return str(into)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream-port", type=int, required=True)
    parser.add_argument("--rtt-ms", type=float, required=True, help="round trip added")
    args = parser.parse_args()
    with suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.upstream_port, args.rtt_ms / 2000.0))


if __name__ == "__main__":
    main()
