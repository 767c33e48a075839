"""Run the fidelity corpus on the emulator and on a real control plane; print the differences.

Usage::

    python tools/fidelity.py [--only NAME ...] [--markdown docs/fidelity-results.md]

Starts an emulated ``MPICluster`` and a ``RealCluster`` (kube-apiserver,
controller-manager, scheduler, etcd, mpi-operator v0.8.2, the node agent),
runs every scenario of ``tests/emulator/fidelity/corpus.py`` on both at once, compares
the normalised observations field by field, and prints one line per scenario
and, at the end, ``differences found and left``: those listed with their
reason in ``tests/emulator/fidelity/known.py`` and those unexplained (errors count as
unexplained). Differences fixed in the emulator no longer show.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from airflow_provider_mpi.testing import MPICluster
from airflow_provider_mpi.testing.real import RealCluster
from airflow_provider_mpi.testing.real.namespaces import RealNamespace
from tests.emulator.fidelity.api_corpus import ALL_SCENARIOS as SCENARIOS
from tests.emulator.fidelity.corpus import Scenario, compare, fresh_namespace, run_scenario
from tests.emulator.fidelity.known import explain


def _both(emulated: Any, real: RealCluster, scenario: Scenario) -> tuple[Any, Any, str]:
    results: dict[str, Any] = {}

    def one(key: str, cluster: Any, namespace: str) -> None:
        try:
            results[key] = run_scenario(cluster, namespace, scenario)
        except Exception as error:
            results[key] = error

    view = RealNamespace(real, f"ns-{scenario.name}")
    try:
        threads = [
            threading.Thread(
                target=one,
                args=("emulated", emulated, fresh_namespace(emulated, f"ns-{scenario.name}")),
            ),
            threading.Thread(target=one, args=("real", view, view.namespace)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        view.close()
    errors = [f"{k}: {v!r}" for k, v in results.items() if isinstance(v, Exception)]
    return results.get("emulated"), results.get("real"), "; ".join(errors)


def _short(value: Any, width: int = 90) -> str:
    text = str(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def main(argv: list[str] | None = None) -> int:
    """Run the corpus on both backends and print the table; 0 when it ran."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=None, help="scenario names to run")
    parser.add_argument("--markdown", default=None, help="also write the table to this file")
    parser.add_argument("--dump", action="store_true", help="print both observations")
    args = parser.parse_args(argv)
    chosen = [s for s in SCENARIOS if not args.only or s.name in args.only]
    rows: list[str] = []
    left = explained = 0
    started = time.monotonic()
    with (
        MPICluster() as emulated,
        RealCluster(progress=lambda line: print(f"[real] {line}"), wait_for_machine=900) as real,
    ):
        for scenario in chosen:
            emu, got, error = _both(emulated, real, scenario)
            if error:
                left += 1
                rows.append(f"| {scenario.name} | error | {error[:200]} |")
                print(f"{scenario.name}: ERROR {error}", flush=True)
                continue
            if args.dump:
                print(json.dumps({"emulated": emu, "real": got}, indent=1, default=str))
            diffs = compare(emu, got)
            notes, reasons = [], []
            for path, a, b in diffs:
                reason = explain(scenario.name, path)
                if reason is None:
                    left += 1
                    notes.append(f"`{path}`: emulator `{_short(a)}`, real `{_short(b)}` (left)")
                else:
                    explained += 1
                    notes.append(f"`{path}`: emulator `{_short(a)}`, real `{_short(b)}`")
                    if reason not in reasons:
                        reasons.append(reason)
            verdict = "same" if not diffs else f"{len(diffs)} difference(s)"
            cell = "<br>".join(notes + [f"reason: {r}" for r in reasons]) or "-"
            rows.append(f"| {scenario.name} | {verdict} | {cell} |")
            print(f"{scenario.name}: {verdict}", flush=True)
            for note in notes:
                print(f"    {note}", flush=True)
    table = "| scenario | result | differences |\n|---|---|---|\n" + "\n".join(rows)
    print()
    print(table)
    print(f"\nscenarios run: {len(chosen)} in {time.monotonic() - started:.0f} s")
    print(
        f"differences found and left: {explained + left} "
        f"({explained} listed with their reason in tests/emulator/fidelity/known.py, "
        f"{left} unexplained)"
    )
    if args.markdown:
        Path(args.markdown).write_text(table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
