"""The one extension table: what is made from it, and that a template is read once."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_mpi.drmaa2 import InvalidTemplateError, JobTemplate, UnsupportedAttributeError
from airflow_provider_mpi.mpioperator import template
from airflow_provider_mpi.mpioperator.template import doc, table
from airflow_provider_mpi.mpioperator.template.extension import (
    Extension,
    Getter,
    ResourceFamily,
    Setter,
)

README = Path(__file__).resolve().parents[2] / "README.md"
ROWS: list[Extension[Any, Any] | ResourceFamily] = [*table.EXTENSIONS, *table.RESOURCE_FAMILIES]


def test_the_readme_holds_the_table_generated_from_the_rows() -> None:
    assert doc.readme_table(README.read_text()) == doc.render_table()
    assert doc.main(["--check", str(README)]) == 0
    for row in table.EXTENSIONS:
        assert f"| `{row.key}`" in doc.render_table()


def test_check_fails_on_a_stale_readme(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stale = tmp_path / "README.md"
    stale.write_text(README.read_text().replace("| `workerImage` |", "| `workerimage` |"))
    assert doc.main(["--check", str(stale)]) == 1
    assert "out of date" in capsys.readouterr().out
    doc.main(["--write", str(stale)])
    assert stale.read_text() == README.read_text()


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.go_name)
def test_every_row_has_its_public_go_named_functions(
    row: Extension[Any, Any] | ResourceFamily,
) -> None:
    stem = template.extension.python_name(row.go_name)
    getter = getattr(template, f"get_{stem}_extension")
    setter = getattr(template, f"set_{stem}_extension")
    assert isinstance(getter, Getter)
    assert getter.__name__ == f"get_{stem}_extension"
    assert f"Get{row.go_name}Extension" in (getter.__doc__ or "")
    if isinstance(setter, Setter):
        assert f"Set{row.go_name}Extension" in (setter.__doc__ or "")
    else:  # hand-written for its own arguments (the command's parts, count and type)
        assert setter.__doc__
    assert getter.__name__ in template.__all__
    assert setter.__name__ in template.__all__


def test_keys_and_go_names_are_unique_and_the_go_spellings_stay() -> None:
    keys = [row.key for row in table.EXTENSIONS]
    keys += [alias for row in table.EXTENSIONS for alias in row.aliases]
    assert len(keys) == len(set(keys))
    assert len({row.go_name for row in ROWS}) == len(ROWS)
    # The strings DRMAA2OS and the Go seed write: changing one breaks compatibility.
    assert {"workerImage", "slotsPerWorker", "node-selectors", "pullpolicy", "runasuser"} <= set(
        keys
    )
    assert table.RESOURCE_PREFIXES[2] == "resourceRequestWorker-"


def test_each_extension_is_read_once_per_conversion(monkeypatch: pytest.MonkeyPatch) -> None:
    reads: Counter[str] = Counter()
    raw = Extension.raw

    def counting(self: Extension[object, object], extensions: dict[str, str]) -> str | None:
        reads[self.key] += 1
        return raw(self, extensions)

    monkeypatch.setattr(Extension, "raw", counting)
    jt = JobTemplate(
        job_category="img",
        min_slots=2,
        extension_list={"workerImage": "w", "node-selectors": "a=b", "runAsUser": "7"},
    )
    template.build_mpi_job(jt, namespace="default")
    assert reads == Counter({row.key: 1 for row in table.EXTENSIONS})


def test_settings_list_every_malformed_extension_at_once() -> None:
    jt = JobTemplate(
        job_category="img",
        min_slots=1,
        extension_list={"slotsPerWorker": "x", "pullpolicy": "sometimes", "fsgroup": "-1"},
    )
    with pytest.raises(InvalidTemplateError) as info:
        template.TemplateSettings.from_template(jt)
    assert sorted(info.value.fields) == ["fsgroup", "pullpolicy", "slotsPerWorker"]
    with pytest.raises(UnsupportedAttributeError, match="did you mean 'workerImage'"):
        template.TemplateSettings.from_template(jt.replace(extension_list={"workerimage": "w"}))


def test_settings_are_typed_frozen_and_hand_out_copies() -> None:
    jt = template.set_labels_extension(JobTemplate(job_category="i", min_slots=1), {"a": "b"})
    settings = template.TemplateSettings.from_template(jt)
    assert settings[table.SLOTS_PER_WORKER] == 1
    assert settings[table.MPI_IMPLEMENTATION] is template.MPIImplementation.INTEL
    settings[table.LABELS]["c"] = "d"
    assert settings[table.LABELS] == {"a": "b"}
    with pytest.raises(TypeError):
        settings.values["labels"] = {}  # type: ignore[index]


def test_the_template_package_loads_no_client_in_a_dag_file() -> None:
    code = (
        "import sys\n"
        "from airflow_provider_mpi.drmaa2 import JobTemplate\n"
        "from airflow_provider_mpi.mpioperator import template as t\n"
        "jt = JobTemplate(job_category='i', min_slots=1)\n"
        "jt = t.set_worker_resource_requests_extension(jt, {'cpu': '500m', 'memory': '1Gi'})\n"
        "jt = t.set_labels_extension(jt, {'team': 'a'})\n"
        "assert t.TemplateSettings.from_template(jt)[t.table.LABELS] == {'team': 'a'}\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('kubernetes', 'kubernetes_asyncio', 'aiohttp', 'urllib3'))\n"
        "print(loaded)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == "[]", result.stdout
