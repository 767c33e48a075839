"""Conformance: built MPIJobs validate against the upstream CRD and the operator's own rules.

The CRD (mpi-operator v0.8.2, ``kubeflow.org_mpijobs.yaml``) is reference data
beside the repository, in ``../shared/mpi-operator/``; it is never copied into
the project. Its structural OpenAPI v3 schema is translated for jsonschema:
``x-kubernetes-int-or-string`` becomes ``integer or string``, the other
``x-kubernetes-*`` markers are dropped, and every object with declared
properties is closed (``additionalProperties: false``), because a real API
server silently prunes unknown fields and we want a misspelt field to fail
here. ``x-kubernetes-list-type: map``/``set`` uniqueness and the ``int32`` and
``int64`` formats are checked too.

The corpus is ``tests/unit/templates/``; the property test feeds arbitrary
templates and requires a valid manifest or one of our template errors.
"""

from __future__ import annotations

import functools
import json
import string
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from airflow_provider_mpi.drmaa2 import InvalidArgumentError, InvalidTemplateError, JobTemplate
from airflow_provider_mpi.mpioperator.names import ANNOTATION_JOB_TEMPLATE
from airflow_provider_mpi.mpioperator.template import KNOWN_EXTENSIONS
from airflow_provider_mpi.mpioperator.template.convert import build_mpi_job
from airflow_provider_mpi.mpioperator.template.validation import validate_mpi_job

CRD_DIR = Path(__file__).resolve().parents[3] / "shared" / "mpi-operator"
CRD_FILE = CRD_DIR / "kubeflow.org_mpijobs.yaml"
TEMPLATES = Path(__file__).resolve().parent / "templates"
NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)

requires_crd = pytest.mark.skipif(
    not CRD_FILE.exists(), reason=f"the upstream MPIJob CRD is not at {CRD_FILE}"
)


# --------------------------------------------------------------------------- schema translation


def _translate(node: Any) -> Any:
    if isinstance(node, list):
        return [_translate(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key.startswith("x-kubernetes-") or key == "description":
            continue
        if key == "properties":
            out[key] = {name: _translate(schema) for name, schema in value.items()}
        else:
            out[key] = _translate(value)
    if node.get("x-kubernetes-int-or-string") and "anyOf" not in out:
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if (
        "properties" in out
        and "additionalProperties" not in out
        and not node.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


@functools.lru_cache(maxsize=1)
def crd_schema() -> dict[str, Any]:
    crd = yaml.safe_load(CRD_FILE.read_text())
    [version] = [v for v in crd["spec"]["versions"] if v["name"] == "v2beta1"]
    assert version is crd["spec"]["versions"][0]
    raw: dict[str, Any] = version["schema"]["openAPIV3Schema"]
    return raw


@functools.lru_cache(maxsize=1)
def validator() -> jsonschema.Draft7Validator:
    checker = jsonschema.FormatChecker()

    @checker.checks("int32")
    def _int32(value: object) -> bool:
        return not isinstance(value, int) or -(2**31) <= value < 2**31

    @checker.checks("int64")
    def _int64(value: object) -> bool:
        return not isinstance(value, int) or -(2**63) <= value < 2**63

    return jsonschema.Draft7Validator(_translate(crd_schema()), format_checker=checker)


def _list_violations(schema: Any, value: Any, path: str) -> Iterator[str]:
    """Uniqueness of ``x-kubernetes-list-type: map`` keys and ``set`` items, recursively."""
    if not isinstance(schema, dict):
        return
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            sub = properties.get(key, extra if isinstance(extra, dict) else None)
            yield from _list_violations(sub, item, f"{path}.{key}")
    elif isinstance(value, list):
        list_type = schema.get("x-kubernetes-list-type")
        if list_type == "map":
            keys = schema.get("x-kubernetes-list-map-keys", [])
            seen = [tuple(item.get(k) for k in keys) for item in value if isinstance(item, dict)]
            if len(seen) != len(set(seen)):
                yield f"{path}: duplicate {keys} in {seen}"
        elif list_type == "set":
            dumped = [json.dumps(item, sort_keys=True) for item in value]
            if len(dumped) != len(set(dumped)):
                yield f"{path}: duplicate items in a set"
        for index, item in enumerate(value):
            yield from _list_violations(schema.get("items"), item, f"{path}[{index}]")


def conformance_errors(mpijob: dict[str, Any]) -> list[str]:
    """Every way ``mpijob`` breaks the CRD schema or the operator's rules (empty: valid)."""
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator().iter_errors(mpijob)
    ]
    errors += list(_list_violations(crd_schema(), mpijob, ""))
    errors += [str(v) for v in validate_mpi_job(mpijob)]
    metadata = mpijob.get("metadata", {})
    if not (metadata.get("name") or metadata.get("generateName")):
        errors.append("metadata: a name or generateName is required")
    return errors


# --------------------------------------------------------------------------- the checker can fail


@requires_crd
def test_the_crd_is_the_v082_one() -> None:
    assert "mpiImplementation" in crd_schema()["properties"]["spec"]["properties"]


@requires_crd
@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda j: j["spec"].update(mpiImplementaton="Intel"), "Additional properties"),
        (lambda j: j["spec"].update(mpiImplementation="LAM"), "is not one of"),
        (lambda j: j["spec"].update(slotsPerWorker=2**31), "int32"),
        (lambda j: j["spec"].update(slotsPerWorker="1"), "is not of type"),
        (
            lambda j: j["spec"]["mpiReplicaSpecs"]["Worker"]["template"]["spec"][
                "containers"
            ].append({"name": "worker", "image": "x"}),
            "duplicate",
        ),
        (lambda j: j["spec"]["mpiReplicaSpecs"]["Launcher"].update(replicas=2), "must be 1"),
        (
            lambda j: j["spec"]["mpiReplicaSpecs"]["Worker"].update(restartPolicy="Always"),
            "restartPolicy",
        ),
        (lambda j: j["metadata"].update(name="x" * 60), "metadata.name"),
        (
            lambda j: j["spec"]["mpiReplicaSpecs"]["Launcher"]["template"]["spec"]["containers"][0][
                "resources"
            ].update(limits={"cpu": "1 core"}),
            "does not match",
        ),
    ],
)
def test_the_checker_rejects_broken_manifests(mutate: Any, expected: str) -> None:
    job = build_mpi_job(
        JobTemplate(
            job_name="ok",
            job_category="img",
            min_slots=2,
            extension_list={"resourceRequestLauncher-cpu": "1"},
        ),
        namespace="default",
    )
    assert conformance_errors(job) == []
    mutate(job)
    errors = conformance_errors(job)
    assert any(expected in e for e in errors), errors


# --------------------------------------------------------------------------- the corpus


def _load(path: Path) -> JobTemplate:
    text = path.read_text()
    data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    return JobTemplate.from_dict(data)


CORPUS = sorted(p for p in TEMPLATES.iterdir() if p.suffix in (".json", ".yaml"))


def test_the_corpus_is_there() -> None:
    assert len(CORPUS) >= 8


@requires_crd
@pytest.mark.parametrize("path", CORPUS, ids=[p.name for p in CORPUS])
def test_corpus_manifests_conform(path: Path) -> None:
    jt = _load(path)
    job = build_mpi_job(jt, namespace="default", now=NOW)
    assert conformance_errors(job) == []
    # and the template travels with the job, losslessly
    assert JobTemplate.from_json(job["metadata"]["annotations"][ANNOTATION_JOB_TEMPLATE]) == jt


# --------------------------------------------------------------------------- the property

_words = st.text(alphabet=string.ascii_lowercase + string.digits + "-", max_size=12)
_text = st.one_of(_words, st.text(max_size=12))
_ints = st.one_of(st.integers(min_value=-3, max_value=12), st.integers())


def mostly(default: Any, *others: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """The default seven times in eight, so that many examples convert."""
    return st.tuples(st.booleans(), st.booleans(), st.booleans()).flatmap(
        lambda coins: st.one_of(*others) if all(coins) else st.just(default)
    )


_known_keys = st.sampled_from(sorted(KNOWN_EXTENSIONS))
_extension_keys = st.one_of(
    _known_keys,
    _known_keys,
    _known_keys,
    _known_keys,
    st.sampled_from(
        ["resourceRequestWorker-", "resourceLimitWorker-", "resourceRequestLauncher-"]
    ).flatmap(
        lambda prefix: st.sampled_from(["cpu", "memory", "nvidia.com/gpu", "bad name"]).map(
            lambda r: prefix + r
        )
    ),
    st.sampled_from(["runasuser", "env-from-secrets", "workerimage", "unknown"]),
)
_extension_values = st.one_of(
    st.sampled_from(
        [
            "1",
            "0",
            "-1",
            "500m",
            "1Gi",
            "true",
            "TRUE",
            "Intel",
            "openmpi",
            "All",
            "a=b,c=d",
            '{"a": "b"}',
            "2*t4",
            "/home/x/.ssh",
            "sshd<!~!>-De",
            "<!~!>-p",
            "WaitForWorkersReady",
            "gke",
            "aks",
            "team-a",
        ]
    ),
    _text,
)
_times = st.one_of(
    st.none(),
    st.none(),
    st.integers(min_value=-(10**6), max_value=10**8).map(lambda s: NOW + timedelta(seconds=s)),
)

templates = st.builds(
    JobTemplate,
    remote_command=mostly("", st.just("mpirun"), _text),
    args=mostly([], st.lists(_text, max_size=3)),
    submit_as_hold=st.booleans(),
    re_runnable=st.booleans(),
    job_environment=mostly({}, st.dictionaries(_text, _text, max_size=3)),
    working_directory=mostly("", st.just("/work"), _text),
    job_category=mostly("img:1", _text),
    email=mostly([], st.lists(_text, min_size=1, max_size=1)),
    email_on_started=mostly(False, st.just(True)),
    input_path=mostly("", _text),
    job_name=mostly("", _words, st.text(max_size=70)),
    join_files=st.booleans(),
    queue_name=mostly("", _text),
    min_slots=st.one_of(st.integers(min_value=1, max_value=200), _ints),
    max_slots=mostly(0, _ints),
    priority=mostly(0, _ints),
    candidate_machines=mostly([], st.lists(_text, max_size=2)),
    min_phys_memory=mostly(0, _ints),
    machine_os=st.sampled_from(["", "", "", "", "", "", "Linux", "Win", "AIX", "linux", "x"]),
    machine_arch=st.sampled_from(["", "", "", "", "", "", "X64", "ARM64", "x86", "SPARC", "amd64"]),
    start_time=mostly(None, _times),
    deadline_time=_times,
    stage_in_files=mostly(
        {},
        st.dictionaries(
            st.sampled_from(["/data", "/etc/mpi", "/root/.ssh", "rel", "/x/../y"]),
            st.one_of(
                st.sampled_from(["pvc:claim", "cm-read:cfg:k:p", "secret:s", "nfs:a:b", "pvc"]),
                _text,
            ),
            max_size=2,
        ),
    ),
    accounting_id=mostly("", _text),
    extension_list=st.dictionaries(_extension_keys, _extension_values, max_size=4),
)


@requires_crd
@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(jt=templates, name=st.one_of(st.none(), _words))
def test_any_template_converts_to_a_valid_manifest_or_fails_with_a_template_error(
    jt: JobTemplate, name: str | None
) -> None:
    error: InvalidArgumentError | None = None
    try:
        job = build_mpi_job(jt, namespace="default", now=NOW)
    except InvalidTemplateError as exc:
        error = exc
    if error is not None:
        assert error.field
        event(f"rejected: {type(error).__name__}")
        return
    event("converted")
    assert conformance_errors(job) == []
    assert json.loads(json.dumps(job)) == job
    if name is None:
        return
    try:
        renamed = build_mpi_job(jt, namespace="default", name=name, now=NOW)
    except InvalidArgumentError as exc:  # a bad name argument, never anything else
        error = exc
    if error is not None:
        assert error.field == "name"
        return
    assert conformance_errors(renamed) == []
