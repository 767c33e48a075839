"""``make compat``: run the Airflow-facing tests against older Airflow 3 releases.

The package asks for ``apache-airflow>=3.0,<4`` while the main virtualenv
holds one Airflow (3.3). For each version asked for (by default the latest
patch of 3.0, 3.1 and 3.2), this script:

1. makes a virtualenv of its own under ``.cache/compat/<version>/venv`` (the
   main ``.venv`` is never touched) and installs ``apache-airflow==<version>``
   with the project's ``.[dev]`` from PyPI, letting pip's resolver pick the
   cncf-kubernetes and common-compat providers that fit (plus the few pins of
   :data:`COMPAT_PINS` an older Airflow needs today); a stamp file keeps
   the venv until the version or ``pyproject.toml`` changes, and pip's cache
   stays warm between runs;
2. runs the tests that touch Airflow on the emulated cluster
   (``--cluster=emulated``): ``tests/unit`` (hooks, operators, sensor, trigger,
   plugin, provider info) and ``tests/dags`` (``dag.test()`` runs with
   deferral and the trigger, the sensor, the "MPI Jobs" pages); the test
   fixtures give each run a temporary ``AIRFLOW_HOME`` with SQLite;
3. prints a table: the version, the installed airflow-core, task-sdk,
   cncf-kubernetes and common-compat, passed/failed/skipped, then every
   failure and every skip reason that names an Airflow version.

Versions run one after another (the tests are heavy; the machine is shared).
The exit status is 1 when an install or a test failed.

    python tools/compat.py                    # 3.0.6 3.1.8 3.2.2
    python tools/compat.py 3.1.8 -- -m browser tests/e2e/test_ui_browser.py
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "compat"

#: The latest patch release of each older Airflow 3 minor on PyPI (3.3 is the main venv's).
DEFAULT_VERSIONS = ("3.0.6", "3.1.8", "3.2.2")
#: What runs by default: everything that imports Airflow, on the emulator.
DEFAULT_TESTS = ("tests/unit", "tests/dags")
#: The distributions whose installed versions the table shows.
SHOWN = {
    "core": "apache-airflow-core",
    "task-sdk": "apache-airflow-task-sdk",
    "cncf-k8s": "apache-airflow-providers-cncf-kubernetes",
    "compat": "apache-airflow-providers-common-compat",
    "cryptography": "cryptography",
}


#: Pins an older Airflow needs today that its own metadata cannot say (it sets no
#: upper bound): ``(first release it applies to, first release without the need,
#: requirement, why)``. pip resolves everything else.
COMPAT_PINS = (
    (
        (3, 0),
        (3, 1),
        "fastapi<0.118",
        "Airflow 3.0 allows any fastapi>=0.115 (3.1 caps it below 0.118): with a newer one and "
        "cadwyn 6+, its in-process Execution API answers every task start with 422",
    ),
    ((3, 0), (3, 1), "cadwyn<6", "likewise"),
    (
        (3, 2),
        (3, 3),
        "fastapi<0.137",
        "Airflow 3.2 allows any fastapi>=0.129 (3.3 caps it below 0.137): with a newer one its "
        "Execution API models fail to build (TITerminalStatePayload's discriminator)",
    ),
    (
        (3, 0),
        (3, 3),
        "cryptography<51",
        "Airflow < 3.3 sets an attribute on cryptography's MultiFernet, a Rust type "
        "without attributes since cryptography 51: every Fernet use fails",
    ),
)


def compat_pins(version: str) -> list[str]:
    """The extra requirements :data:`COMPAT_PINS` adds for Airflow ``version``.

    Args:
        version: an Airflow release, e.g. ``3.1.8``.

    Returns:
        The requirements (``cryptography<51``...), empty for a release that needs none.
    """
    release = tuple(int(part) for part in version.split(".")[:2])
    return [pin for since, until, pin, _ in COMPAT_PINS if since <= release < until]


@dataclass
class Outcome:
    """The result of one test run, read from its JUnit XML report."""

    passed: int = 0
    failed: int = 0
    skipped: int = 0
    #: ``(test id, first line of the message)`` of each failed or erroring test.
    failures: list[tuple[str, str]] = field(default_factory=list)
    #: ``(test id, reason)`` of each skipped test.
    skips: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Result:
    """One Airflow version's row of the table."""

    airflow: str
    installed: dict[str, str] = field(default_factory=dict)
    outcome: Outcome | None = None
    problem: str = ""
    seconds: float = 0.0


def read_junit(xml_text: str) -> Outcome:
    """Count a JUnit XML report (pytest's ``--junitxml``) into an :class:`Outcome`.

    Args:
        xml_text: the report.

    Returns:
        Passed, failed (failures and errors) and skipped tests, with the
        messages of the failures and the reasons of the skips.
    """
    outcome = Outcome()
    for case in ET.fromstring(xml_text).iter("testcase"):
        module, test = case.get("classname", ""), case.get("name", "")
        name = f"{module}::{test}" if module else test
        bad = case.find("failure")
        if bad is None:
            bad = case.find("error")
        skip = case.find("skipped")
        if bad is not None:
            outcome.failed += 1
            outcome.failures.append((name, _first_line(bad.get("message") or bad.text or "")))
        elif skip is not None:
            outcome.skipped += 1
            outcome.skips.append((name, _first_line(skip.get("message") or "")))
        else:
            outcome.passed += 1
    return outcome


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0][:200] if lines else ""


def format_table(results: list[Result]) -> str:
    """The summary table: one row per Airflow version.

    Args:
        results: the runs, in the order they ran.

    Returns:
        A Markdown table (also readable as plain text).
    """
    head = ["airflow", *SHOWN, "passed", "failed", "skipped", "minutes"]
    rows = [head, ["---"] * len(head)]
    for result in results:
        counts = (
            [str(result.outcome.passed), str(result.outcome.failed), str(result.outcome.skipped)]
            if result.outcome
            else ["-", "-", "-"]
        )
        installed = [result.installed.get(dist, "-") for dist in SHOWN.values()]
        rows.append([result.airflow, *installed, *counts, f"{result.seconds / 60:.1f}"])
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    return "\n".join(
        "| " + " | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) + " |"
        for row in rows
    )


def format_details(results: list[Result]) -> str:
    """The problems, failures and version-specific skips under the table.

    Args:
        results: the runs.

    Returns:
        One block per version that has something to say; empty if none has.
    """
    blocks = []
    for result in results:
        lines = []
        if result.problem:
            lines.append(f"  problem: {result.problem}")
        if result.outcome:
            lines += [f"  FAILED {name}: {message}" for name, message in result.outcome.failures]
            lines += [
                f"  skipped {name}: {reason}"
                for name, reason in result.outcome.skips
                if "Airflow" in reason
            ]
        if lines:
            blocks.append(f"Airflow {result.airflow}:\n" + "\n".join(lines))
    return "\n\n".join(blocks)


def _stamp(version: str) -> str:
    """What an installed venv was made from: Airflow, the pins and pyproject.toml."""
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()[:16]
    return f"apache-airflow=={version} {' '.join(compat_pins(version))} pyproject={digest}\n"


def _run(command: list[str], log: Path, env: dict[str, str] | None = None) -> int:
    """Run ``command`` in the project's root, appending its output to ``log``."""
    with log.open("a") as out:
        out.write(f"\n$ {' '.join(command)}\n")
        out.flush()
        return subprocess.run(
            command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env, check=False
        ).returncode


def ensure_venv(version: str, reinstall: bool) -> tuple[Path, str]:
    """The venv of ``version``, made and installed unless its stamp is current.

    Args:
        version: the Airflow release, e.g. ``3.1.8``.
        reinstall: make it anew even when the stamp matches.

    Returns:
        The venv's python and, if the install failed, where to read why.
    """
    home = CACHE / version
    venv = home / "venv"
    python = venv / "bin" / "python"
    stamp = venv / ".compat-installed"
    if not reinstall and stamp.exists() and stamp.read_text() == _stamp(version):
        return python, ""
    home.mkdir(parents=True, exist_ok=True)
    log = home / "install.log"
    log.write_text("")
    print(f"== Airflow {version}: installing into {venv} (log: {log})", flush=True)
    stamp.unlink(missing_ok=True)
    steps = [
        [sys.executable, "-m", "venv", "--clear", str(venv)],
        [str(python), "-m", "pip", "install", "--upgrade", "pip"],
        # One resolution: Airflow's pins and the project's ranges together.
        [
            str(python),
            "-m",
            "pip",
            "install",
            f"apache-airflow=={version}",
            *compat_pins(version),
            "-e",
            ".[dev]",
        ],
        [str(python), "-m", "pip", "check"],
    ]
    for step in steps:
        if _run(step, log) != 0:
            return python, f"`{' '.join(step[-3:])}` failed, see {log}"
    stamp.write_text(_stamp(version))
    return python, ""


def installed_versions(python: Path) -> dict[str, str]:
    """The installed versions of the distributions in :data:`SHOWN`, read in the venv."""
    script = (
        "import importlib.metadata as m, json, sys\n"
        "out = {}\n"
        "for name in sys.argv[1:]:\n"
        "    try:\n"
        "        out[name] = m.version(name)\n"
        "    except m.PackageNotFoundError:\n"
        "        out[name] = 'absent'\n"
        "print(json.dumps(out))\n"
    )
    found = subprocess.run(
        [str(python), "-c", script, *SHOWN.values()],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(found.stdout))


def run_tests(python: Path, version: str, pytest_args: list[str]) -> tuple[Outcome | None, str]:
    """Run pytest in the venv of ``version`` on the emulator.

    Args:
        python: the venv's interpreter.
        version: the Airflow release (names the report's folder).
        pytest_args: tests and options; ``--cluster=emulated`` is added.

    Returns:
        The outcome (``None`` when pytest wrote no report) and a problem, if any.
    """
    home = CACHE / version
    report = home / "junit.xml"
    report.unlink(missing_ok=True)
    log = home / "pytest.log"
    log.write_text("")
    env = dict(os.environ)
    # Nothing of the caller's Airflow or venv leaks in: the fixtures make their own home.
    for name in ("AIRFLOW_HOME", "VIRTUAL_ENV", "PYTHONPATH"):
        env.pop(name, None)
    env["PATH"] = f"{python.parent}{os.pathsep}{env.get('PATH', '')}"
    command = [
        str(python),
        "-m",
        "pytest",
        "--cluster=emulated",
        "-p",
        "no:cacheprovider",
        # A module that cannot import on this Airflow is one failure, not the end of the run.
        "--continue-on-collection-errors",
        f"--junitxml={report}",
        *pytest_args,
    ]
    print(f"== Airflow {version}: {' '.join(command[1:])} (log: {log})", flush=True)
    code = _run(command, log, env)
    if not report.exists():
        return None, f"pytest exited {code} without a report, see {log}"
    outcome = read_junit(report.read_text())
    # 1: some tests failed (the table says which); anything else is pytest's own trouble.
    problem = "" if code in (0, 1) else f"pytest exited {code}, see {log}"
    return outcome, problem


def main(argv: list[str] | None = None) -> int:
    """Install and test each Airflow version asked for; print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "versions",
        nargs="*",
        default=list(DEFAULT_VERSIONS),
        help=f"apache-airflow releases (default: {' '.join(DEFAULT_VERSIONS)})",
    )
    parser.add_argument("--reinstall", action="store_true", help="make the venvs anew")
    parser.epilog = f"After --: tests and pytest options (default: {' '.join(DEFAULT_TESTS)})."
    argv = list(sys.argv[1:] if argv is None else argv)
    split = argv.index("--") if "--" in argv else len(argv)
    ours, pytest_args = argv[:split], argv[split + 1 :]
    args = parser.parse_args(ours)
    pytest_args = pytest_args or list(DEFAULT_TESTS)
    results = []
    for version in args.versions:
        started = time.monotonic()
        result = Result(version)
        python, result.problem = ensure_venv(version, args.reinstall)
        if not result.problem:
            result.installed = installed_versions(python)
            result.outcome, result.problem = run_tests(python, version, pytest_args)
        result.seconds = time.monotonic() - started
        results.append(result)
        print(format_table([result]).splitlines()[-1], flush=True)
    print()
    print(format_table(results))
    details = format_details(results)
    if details:
        print()
        print(details)
    CACHE.mkdir(parents=True, exist_ok=True)
    (CACHE / "summary.md").write_text(format_table(results) + "\n\n" + details + "\n")
    ok = all(not r.problem and r.outcome and not r.outcome.failed for r in results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
