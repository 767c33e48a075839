"""Build the real control plane's binaries from Go modules, once per version, into a cache.

Each :class:`~airflow_provider_mpi.testing.real.versions.Component` is built
in a small generated module of ours (``<cache>/<name>-<version>/module``)
that requires the upstream module, then ``go build`` writes the binaries to
``<cache>/<name>-<version>/bin``. A ``build.json`` written last marks a
finished build; a lock file lets two processes share the cache. Builds run
one after the other (they are CPU bound) and report progress through a
callback.

The cache is ``$MPI_REAL_CLUSTER_CACHE`` when set, else ``.cache/real-cluster``
in the source checkout (git ignores it), else
``~/.cache/airflow-provider-mpi/real-cluster``.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from airflow_provider_mpi.testing.real.errors import (
    BuildError,
    GoToolchainMissingError,
    ModuleUnavailableError,
)
from airflow_provider_mpi.testing.real.gomod import (
    module_failure,
    parse_go_mod,
    render_go_mod,
    render_tools_go,
)
from airflow_provider_mpi.testing.real.procs import log_tail, spawn, stop_process
from airflow_provider_mpi.testing.real.versions import COMPONENTS, Component

__all__ = ["Builder", "Progress", "cache_root", "find_go"]

Progress = Callable[[str], None]
CACHE_ENV = "MPI_REAL_CLUSTER_CACHE"
GO_ENV = "MPI_REAL_CLUSTER_GO"
#: Where the official Go archive installs itself; tried when ``go`` is not on PATH.
STANDARD_GO = "/usr/local/go/bin/go"
_STAMP = "build.json"
_HEARTBEAT = 30.0


def cache_root(environ: Mapping[str, str] | None = None) -> Path:
    """The folder holding the built binaries, one subfolder per component version.

    Args:
        environ: The environment to read ``MPI_REAL_CLUSTER_CACHE`` from (default: ours).

    Returns:
        The folder (not created).
    """
    env = os.environ if environ is None else environ
    if env.get(CACHE_ENV):
        return Path(env[CACHE_ENV]).expanduser().resolve()
    checkout = Path(__file__).resolve().parents[3]
    if (checkout / "pyproject.toml").is_file() and (checkout / ".git").exists():
        return checkout / ".cache" / "real-cluster"
    base = Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "airflow-provider-mpi" / "real-cluster"


def find_go(go: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """Find a working ``go`` command.

    Args:
        go: A path or name to use instead of looking (``MPI_REAL_CLUSTER_GO``, then
            ``go`` on PATH, then /usr/local/go/bin/go).
        environ: The environment whose PATH is searched (default: ours).

    Returns:
        The absolute path of ``go``.

    Raises:
        GoToolchainMissingError: When none is found or it does not run.
    """
    env = os.environ if environ is None else environ
    wanted = go or env.get(GO_ENV) or ""
    if wanted:
        found = shutil.which(wanted, path=env.get("PATH", ""))
        if found is None:
            raise GoToolchainMissingError(wanted)
    else:
        found = shutil.which("go", path=env.get("PATH", ""))
        if found is None and os.access(STANDARD_GO, os.X_OK):
            found = STANDARD_GO
        if found is None:
            raise GoToolchainMissingError("go", f"not on PATH ({env.get('PATH', '')!r})")
    try:
        result = subprocess.run(
            [found, "env", "GOVERSION"], capture_output=True, text=True, timeout=60, check=False
        )
    except OSError as exc:
        raise GoToolchainMissingError(found, str(exc)) from exc
    if result.returncode != 0 or not result.stdout.startswith("go"):
        raise GoToolchainMissingError(found, (result.stderr or result.stdout).strip()[-500:])
    return found


def _print(message: str) -> None:
    print(message, flush=True)


class Builder:
    """Builds missing binaries into the cache.

    Args:
        cache: The cache folder (default: :func:`cache_root`).
        go: The ``go`` command (default: :func:`find_go`); checked on the first build.
        progress: Called with one line per step (default: print).
        environ: The environment of the ``go`` commands (default: ours).
    """

    def __init__(
        self,
        cache: Path | None = None,
        *,
        go: str | None = None,
        progress: Progress | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.cache = cache if cache is not None else cache_root(environ)
        self._go_wanted = go
        self._go: str | None = None
        self.progress = progress or _print
        self._environ = dict(os.environ if environ is None else environ)

    # ------------------------------------------------------------------ cache

    def folder(self, component: Component) -> Path:
        """The cache folder of one component version."""
        return self.cache / component.key

    def binary(self, component: Component, name: str) -> Path:
        """The path of one built binary (it may not exist yet)."""
        return self.folder(component) / "bin" / name

    def is_built(self, component: Component) -> bool:
        """Whether a finished build of this component is in the cache."""
        folder = self.folder(component)
        return (folder / _STAMP).is_file() and all(
            os.access(self.binary(component, name), os.X_OK) for name in component.binary_names
        )

    def missing(self, components: Sequence[Component] = COMPONENTS) -> list[Component]:
        """The components that still need a build."""
        return [component for component in components if not self.is_built(component)]

    def build_info(self, component: Component) -> dict[str, object]:
        """What ``build.json`` says about a finished build (go version, seconds)."""
        data: dict[str, object] = json.loads((self.folder(component) / _STAMP).read_text())
        return data

    # ------------------------------------------------------------------ build

    def ensure(self, components: Sequence[Component] = COMPONENTS) -> dict[str, Path]:
        """Build what is missing, one component after the other.

        Args:
            components: What is needed.

        Returns:
            Every binary of those components by name.

        Raises:
            GoToolchainMissingError: When something must be built and Go is missing.
            ModuleUnavailableError: When the proxy refuses a module (named in the error).
            BuildError: When a go command fails otherwise.
        """
        paths: dict[str, Path] = {}
        for component in components:
            if not self.is_built(component):
                self.build(component)
            for name in component.binary_names:
                paths[name] = self.binary(component, name)
        return paths

    def build(self, component: Component) -> float:
        """Build one component now (another process building it is waited for).

        Args:
            component: What to build.

        Returns:
            The seconds it took (0 when another process finished it meanwhile).
        """
        self._go_command()  # no Go: fail before touching the cache
        folder = self.folder(component)
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if self.is_built(component):
                return 0.0
            return self._build_locked(component, folder)

    def _go_command(self) -> str:
        if self._go is None:
            self._go = find_go(self._go_wanted, self._environ)
        return self._go

    def _build_locked(self, component: Component, folder: Path) -> float:
        go = self._go_command()
        started = time.monotonic()
        module = folder / "module"
        shutil.rmtree(module, ignore_errors=True)
        shutil.rmtree(folder / "bin", ignore_errors=True)
        (folder / _STAMP).unlink(missing_ok=True)
        module.mkdir(parents=True)
        log = folder / "build.log"
        log.write_text("")
        what = f"{component.module}@{component.version}"
        self.progress(f"[build] {component.key}: fetching {what} from the Go module proxy")
        info = self._download(go, component, folder, log)
        upstream = parse_go_mod(Path(info["GoMod"]).read_text())
        (module / "go.mod").write_text(render_go_mod(component, upstream))
        if component.main_source is not None:
            (module / "main.go").write_text(component.main_source)
        else:
            # A tools.go keeps the upstream main packages in the module's requirements.
            (module / "tools.go").write_text(render_tools_go(component.packages))
        self.progress(f"[build] {component.key}: resolving dependencies (go mod tidy)")
        self._run(go, ["mod", "tidy"], module, log, component, "go mod tidy")
        # Without the symbol table and DWARF (-s -w), as Kubernetes' own release builds link:
        # the link steps of the large binaries take less time and memory.
        ldflags = " ".join(["-s", "-w", *(f"-X {setting}" for setting in component.ldflags_x)])
        argv = ["build", "-o", str(folder / "bin") + os.sep, "-ldflags", ldflags]
        argv += list(component.packages)
        names = ", ".join(component.binary_names)
        self.progress(f"[build] {component.key}: compiling {names} (minutes on a cold cache)")
        self._run(go, argv, module, log, component, "go build")
        seconds = time.monotonic() - started
        version = subprocess.run(
            [go, "env", "GOVERSION"], capture_output=True, text=True, check=False
        ).stdout.strip()
        stamp = {
            "module": component.module,
            "version": component.version,
            "go": version,
            "seconds": round(seconds, 1),
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "binaries": list(component.binary_names),
            # The upstream module's files (the operator's CRD and RBAC are read from there).
            "module_dir": info.get("Dir", ""),
            "module_sum": info.get("Sum", ""),
        }
        (folder / _STAMP).write_text(json.dumps(stamp, indent=2) + "\n")
        self.progress(f"[build] {component.key}: done in {seconds:.0f} s -> {folder / 'bin'}")
        return seconds

    def _env(self) -> dict[str, str]:
        env = dict(self._environ)
        # Never switch to another toolchain behind the user's back: a too old go says so.
        env.setdefault("GOTOOLCHAIN", "local")
        env.setdefault("GOFLAGS", "-buildvcs=false")
        return env

    def _download(self, go: str, component: Component, folder: Path, log: Path) -> dict[str, str]:
        what = f"{component.module}@{component.version}"
        outside = folder / "download"
        outside.mkdir(exist_ok=True)
        result = subprocess.run(
            [go, "mod", "download", "-json", what],
            cwd=outside,
            capture_output=True,
            text=True,
            env={**self._env(), "GO111MODULE": "on"},
            check=False,
        )
        with open(log, "a") as handle:
            handle.write(result.stdout + result.stderr)
        try:
            info = json.loads(result.stdout) if result.stdout.strip() else {}
        except json.JSONDecodeError:
            info = {}
        error = info.get("Error") or (result.stderr.strip() if result.returncode else "")
        if error or not info.get("GoMod"):
            raise ModuleUnavailableError(
                component.module, component.version, str(error or "no go.mod in the answer")
            )
        return {key: str(value) for key, value in info.items()}

    def _run(
        self,
        go: str,
        args: Sequence[str],
        cwd: Path,
        log: Path,
        component: Component,
        step: str,
    ) -> None:
        with open(log, "a") as handle:
            handle.write(f"\n$ go {' '.join(args)}\n")
        process = spawn([go, *args], log_path=log, env=self._env(), cwd=cwd)
        started = time.monotonic()
        done = threading.Event()

        def heartbeat() -> None:
            while not done.wait(_HEARTBEAT):
                elapsed = time.monotonic() - started
                self.progress(f"[build] {component.key}: {step} still running ({elapsed:.0f} s)")

        beat = threading.Thread(target=heartbeat, daemon=True)
        beat.start()
        try:
            returncode = process.wait()
        except BaseException:
            stop_process(process, grace=1.0)
            raise
        finally:
            done.set()
        if returncode == 0:
            return
        output = log.read_text(errors="replace")
        failure = module_failure(output)
        if failure is not None:
            raise ModuleUnavailableError(failure.module, failure.version, failure.detail)
        raise BuildError(
            f"{step} of {component.module}@{component.version} failed with status {returncode}"
            f" (in {cwd}); the last lines of {log}:\n{log_tail(log)}"
        )
