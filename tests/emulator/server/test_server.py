"""The emulated API server through the official sync client: CRUD, patches, lists, errors."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest
from kubernetes import client

from airflow_provider_mpi.testing.server import EmulatorServer
from airflow_provider_mpi.testing.store import Store

GROUP, VERSION, PLURAL = "kubeflow.org", "v2beta1", "mpijobs"


def mpijob(name: str = "pi", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "MPIJob",
        "metadata": {"name": name},
        "spec": {
            "mpiReplicaSpecs": {
                "Launcher": {
                    "replicas": 1,
                    "template": {"spec": {"containers": [{"name": "l", "image": "pi"}]}},
                }
            },
            **spec,
        },
    }


def raw(
    server: EmulatorServer,
    path: str,
    *,
    token: str | None = None,
    method: str = "GET",
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any, dict[str, str]]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(server.url + path, data=data, method=method)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    for key, value in (headers or {}).items():
        request.add_header(key, value)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            text = response.read()
            return response.status, json.loads(text) if text else None, dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), dict(error.headers)


@pytest.fixture
def core(k8s: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(k8s)


@pytest.fixture
def custom(k8s: client.ApiClient) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(k8s)


# ------------------------------------------------------------------ discovery


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/api", "APIVersions"),
        ("/apis", "APIGroupList"),
        ("/api/v1", "APIResourceList"),
        ("/apis/batch/v1", "APIResourceList"),
        ("/apis/kubeflow.org/v2beta1", "APIResourceList"),
        ("/apis/apiextensions.k8s.io/v1", "APIResourceList"),
        ("/apis/kubeflow.org", "APIGroup"),
    ],
)
def test_discovery_documents(
    emu_server: EmulatorServer, emu_token: str, path: str, kind: str
) -> None:
    status, body, _ = raw(emu_server, path, token=emu_token)
    assert status == 200
    assert body["kind"] == kind


def test_discovery_lists_subresources(emu_server: EmulatorServer, emu_token: str) -> None:
    _, body, _ = raw(emu_server, "/apis/kubeflow.org/v2beta1", token=emu_token)
    names = {r["name"]: r for r in body["resources"]}
    assert names["mpijobs"]["namespaced"] is True
    assert "watch" in names["mpijobs"]["verbs"]
    assert names["mpijobs/status"]["verbs"] == ["get", "patch", "update"]
    _, core_body, _ = raw(emu_server, "/api/v1", token=emu_token)
    assert "pods/log" in {r["name"] for r in core_body["resources"]}


def test_version_through_client(k8s: client.ApiClient) -> None:
    info = client.VersionApi(k8s).get_code()
    assert info.major == "1"
    assert info.git_version.startswith("v1.")


def test_unknown_group_version_is_404(emu_server: EmulatorServer, emu_token: str) -> None:
    status, body, _ = raw(emu_server, "/apis/nope.io/v1", token=emu_token)
    assert status == 404
    assert body["kind"] == "Status"


# ------------------------------------------------------------------ auth


@pytest.mark.parametrize("token", [None, "wrong"])
def test_missing_or_wrong_token_is_401(emu_server: EmulatorServer, token: str | None) -> None:
    status, body, _ = raw(emu_server, "/api/v1/namespaces/default/pods", token=token)
    assert status == 401
    assert body == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "Unauthorized",
        "reason": "Unauthorized",
        "code": 401,
    }


@pytest.mark.parametrize(
    ("scheme", "expected"),
    [("Bearer", 200), ("bearer", 200), ("BEARER", 200), ("Basic", 401), ("", 401)],
)
def test_the_auth_scheme_is_case_insensitive(
    emu_server: EmulatorServer, emu_token: str, scheme: str, expected: int
) -> None:
    # The official client's in-cluster loader sends "bearer <token>".
    header = f"{scheme} {emu_token}".strip()
    status, _, _ = raw(
        emu_server, "/api/v1/namespaces/default/pods", headers={"Authorization": header}
    )
    assert status == expected


def test_only_loopback_hosts() -> None:
    with pytest.raises(ValueError, match="loopback"):
        EmulatorServer(Store(), host="0.0.0.0", token="x")


# ------------------------------------------------------------------ CRUD


def test_mpijob_crud_and_status(custom: client.CustomObjectsApi) -> None:
    created = custom.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, mpijob())
    assert created["metadata"]["uid"]
    assert created["metadata"]["generation"] == 1
    assert created["spec"]["slotsPerWorker"] == 1  # defaulted by the schema
    assert "status" not in created
    got = custom.get_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "pi")
    assert got == created

    status = {"status": {"conditions": [{"type": "Created", "status": "True"}]}}
    after = custom.patch_namespaced_custom_object_status(
        GROUP, VERSION, "default", PLURAL, "pi", status
    )
    assert after["status"]["conditions"][0]["type"] == "Created"
    assert after["metadata"]["generation"] == 1
    # The main resource ignores status changes.
    ignored = custom.patch_namespaced_custom_object(
        GROUP,
        VERSION,
        "default",
        PLURAL,
        "pi",
        {"status": {"conditions": []}, "spec": {"slotsPerWorker": 2}},
    )
    assert ignored["status"] == after["status"]
    assert ignored["metadata"]["generation"] == 2

    listed = custom.list_namespaced_custom_object(GROUP, VERSION, "default", PLURAL)
    assert listed["kind"] == "MPIJobList"
    assert [i["metadata"]["name"] for i in listed["items"]] == ["pi"]
    deleted = custom.delete_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "pi")
    assert deleted["metadata"]["name"] == "pi"
    with pytest.raises(client.ApiException) as info:
        custom.get_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "pi")
    assert info.value.status == 404
    body = json.loads(info.value.body)
    assert body["reason"] == "NotFound"
    assert body["details"] == {"name": "pi", "group": GROUP, "kind": PLURAL}
    assert body["message"] == 'mpijobs.kubeflow.org "pi" not found'


def test_status_put_roundtrip(custom: client.CustomObjectsApi) -> None:
    created = custom.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, mpijob())
    created["status"] = {"conditions": [{"type": "Succeeded", "status": "True"}]}
    replaced = custom.replace_namespaced_custom_object_status(
        GROUP, VERSION, "default", PLURAL, "pi", created
    )
    assert replaced["status"]["conditions"][0]["type"] == "Succeeded"


@pytest.mark.parametrize(
    ("create", "read", "replace", "body"),
    [
        (
            "create_namespaced_pod",
            "read_namespaced_pod",
            "replace_namespaced_pod",
            {"metadata": {"name": "x"}, "spec": {"containers": [{"name": "c", "image": "i"}]}},
        ),
        (
            "create_namespaced_service",
            "read_namespaced_service",
            "replace_namespaced_service",
            {"metadata": {"name": "x"}, "spec": {"clusterIP": "None", "selector": {"a": "b"}}},
        ),
        (
            "create_namespaced_config_map",
            "read_namespaced_config_map",
            "replace_namespaced_config_map",
            {"metadata": {"name": "x"}, "data": {"hostfile": "a slots=1"}},
        ),
        (
            "create_namespaced_secret",
            "read_namespaced_secret",
            "replace_namespaced_secret",
            {"metadata": {"name": "x"}, "type": "Opaque", "data": {"k": "dg=="}},
        ),
        (
            "create_namespaced_event",
            "read_namespaced_event",
            "replace_namespaced_event",
            {
                "metadata": {"name": "x"},
                "involvedObject": {"kind": "MPIJob", "name": "pi"},
                "reason": "R",
            },
        ),
    ],
)
def test_core_kinds_crud(
    core: client.CoreV1Api, create: str, read: str, replace: str, body: dict[str, Any]
) -> None:
    created = getattr(core, create)("default", body)
    assert created.metadata.resource_version
    read_back = getattr(core, read)("x", "default")
    assert read_back.metadata.uid == created.metadata.uid
    read_back.metadata.labels = {"changed": "yes"}
    replaced = getattr(core, replace)("x", "default", read_back)
    assert replaced.metadata.labels == {"changed": "yes"}
    assert int(replaced.metadata.resource_version) > int(created.metadata.resource_version)


def test_pod_create_resets_status(core: client.CoreV1Api) -> None:
    pod = core.create_namespaced_pod(
        "default",
        {
            "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c", "image": "i"}]},
            "status": {"phase": "Succeeded"},
        },
    )
    assert pod.status.phase == "Pending"


def test_jobs_and_namespaces(k8s: client.ApiClient) -> None:
    core, batch = client.CoreV1Api(k8s), client.BatchV1Api(k8s)
    core.create_namespace({"metadata": {"name": "team"}})
    assert core.read_namespace("team").status.phase == "Active"
    job = batch.create_namespaced_job(
        "team",
        {
            "metadata": {"name": "l"},
            "spec": {
                "template": {
                    "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "i"}]}
                }
            },
        },
    )
    assert job.metadata.generation == 1
    assert [j.metadata.name for j in batch.list_job_for_all_namespaces().items] == ["l"]
    core.delete_namespace("team")
    assert batch.list_job_for_all_namespaces().items == []


def test_crd_create_is_established(k8s: client.ApiClient) -> None:
    ext = client.ApiextensionsV1Api(k8s)
    crd = ext.create_custom_resource_definition(
        {
            "metadata": {"name": "widgets.example.com"},
            "spec": {
                "group": "example.com",
                "scope": "Namespaced",
                "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
                "versions": [
                    {
                        "name": "v1",
                        "served": True,
                        "storage": True,
                        "schema": {"openAPIV3Schema": {"type": "object"}},
                    }
                ],
            },
        }
    )
    types = {c.type: c.status for c in crd.status.conditions}
    assert types == {"NamesAccepted": "True", "Established": "True"}
    assert crd.status.stored_versions == ["v1"]


def test_generate_name(core: client.CoreV1Api) -> None:
    body = {"metadata": {"generateName": "w-"}, "data": {}}
    first = core.create_namespaced_config_map("default", body)
    second = core.create_namespaced_config_map("default", body)
    assert first.metadata.name.startswith("w-")
    assert first.metadata.name != second.metadata.name


# ------------------------------------------------------------------ errors


def _status(error: client.ApiException) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(error.body)
    assert body["kind"] == "Status"
    assert body["status"] == "Failure"
    assert body["code"] == error.status
    return body


def test_already_exists_is_409(core: client.CoreV1Api) -> None:
    core.create_namespaced_config_map("default", {"metadata": {"name": "c"}})
    with pytest.raises(client.ApiException) as info:
        core.create_namespaced_config_map("default", {"metadata": {"name": "c"}})
    assert info.value.status == 409
    assert _status(info.value)["reason"] == "AlreadyExists"


def test_stale_update_is_409_conflict(core: client.CoreV1Api) -> None:
    first = core.create_namespaced_config_map(
        "default", {"metadata": {"name": "c"}, "data": {"a": "1"}}
    )
    core.patch_namespaced_config_map("c", "default", {"data": {"a": "2"}})
    first.data = {"a": "3"}
    with pytest.raises(client.ApiException) as info:
        core.replace_namespaced_config_map("c", "default", first)
    assert info.value.status == 409
    body = _status(info.value)
    assert body["reason"] == "Conflict"
    assert "the object has been modified" in body["message"]


def test_invalid_mpijob_is_422_with_causes(custom: client.CustomObjectsApi) -> None:
    bad = mpijob(mpiImplementation="LAM", slotsPerWorker="two")
    with pytest.raises(client.ApiException) as info:
        custom.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, bad)
    assert info.value.status == 422
    body = _status(info.value)
    assert body["reason"] == "Invalid"
    fields = {c["field"]: c["reason"] for c in body["details"]["causes"]}
    assert fields == {
        "spec.mpiImplementation": "FieldValueNotSupported",
        "spec.slotsPerWorker": "FieldValueTypeInvalid",
    }
    assert "spec.mpiImplementation" in body["message"]


def test_invalid_condition_status_is_422(custom: client.CustomObjectsApi) -> None:
    custom.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, mpijob())
    with pytest.raises(client.ApiException) as info:
        custom.patch_namespaced_custom_object_status(
            GROUP,
            VERSION,
            "default",
            PLURAL,
            "pi",
            {"status": {"conditions": [{"type": "Running", "status": "Maybe"}]}},
        )
    assert info.value.status == 422
    assert _status(info.value)["details"]["causes"][0]["field"] == "status.conditions[0].status"


def test_unknown_fields_are_pruned_with_a_warning(
    emu_server: EmulatorServer, emu_token: str
) -> None:
    body = mpijob()
    body["spec"]["slotPerWorker"] = 4  # misspelled
    status, created, headers = raw(
        emu_server,
        "/apis/kubeflow.org/v2beta1/namespaces/default/mpijobs",
        token=emu_token,
        method="POST",
        body=body,
        headers={"Content-Type": "application/json"},
    )
    assert status == 201
    assert "slotPerWorker" not in created["spec"]
    assert headers["Warning"] == '299 - "unknown field \\"spec.slotPerWorker\\""'


def test_strict_field_validation_refuses_unknown_fields(
    emu_server: EmulatorServer, emu_token: str
) -> None:
    body = mpijob()
    body["spec"]["slotPerWorker"] = 4
    status, answer, _ = raw(
        emu_server,
        "/apis/kubeflow.org/v2beta1/namespaces/default/mpijobs?fieldValidation=Strict",
        token=emu_token,
        method="POST",
        body=body,
        headers={"Content-Type": "application/json"},
    )
    assert status == 400
    assert answer["reason"] == "BadRequest"
    assert 'unknown field "spec.slotPerWorker"' in answer["message"]


def test_missing_namespace_is_404(core: client.CoreV1Api) -> None:
    with pytest.raises(client.ApiException) as info:
        core.create_namespaced_config_map("nowhere", {"metadata": {"name": "c"}})
    assert info.value.status == 404
    assert _status(info.value)["message"] == 'namespaces "nowhere" not found'


def test_bad_selector_is_400(core: client.CoreV1Api) -> None:
    with pytest.raises(client.ApiException) as info:
        core.list_namespaced_pod("default", label_selector="a in (b")
    assert info.value.status == 400
    assert _status(info.value)["reason"] == "BadRequest"


def test_wrong_kind_is_400(emu_server: EmulatorServer, emu_token: str) -> None:
    status, body, _ = raw(
        emu_server,
        "/api/v1/namespaces/default/pods",
        token=emu_token,
        method="POST",
        body={"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}},
        headers={"Content-Type": "application/json"},
    )
    assert status == 400
    assert "does not match the expected kind" in body["message"]


def test_name_mismatch_on_put_is_400(core: client.CoreV1Api) -> None:
    core.create_namespaced_config_map("default", {"metadata": {"name": "c"}})
    with pytest.raises(client.ApiException) as info:
        core.replace_namespaced_config_map("c", "default", {"metadata": {"name": "other"}})
    assert info.value.status == 400


# ------------------------------------------------------------------ patches


def test_json_patch(core: client.CoreV1Api) -> None:
    core.create_namespaced_config_map("default", {"metadata": {"name": "c"}, "data": {"a": "1"}})
    patched = core.patch_namespaced_config_map(
        "c",
        "default",
        [{"op": "add", "path": "/data/b", "value": "2"}, {"op": "remove", "path": "/data/a"}],
    )
    assert patched.data == {"b": "2"}
    with pytest.raises(client.ApiException) as info:
        core.patch_namespaced_config_map(
            "c", "default", [{"op": "test", "path": "/data/b", "value": "9"}]
        )
    assert info.value.status == 422


def test_strategic_merge_patch_merges_containers_by_name(core: client.CoreV1Api) -> None:
    core.create_namespaced_pod(
        "default",
        {
            "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "a", "image": "one"}, {"name": "b", "image": "two"}]},
        },
    )
    patched = core.patch_namespaced_pod(
        "p", "default", {"spec": {"containers": [{"name": "b", "image": "three"}]}}
    )
    assert [(c.name, c.image) for c in patched.spec.containers] == [("a", "one"), ("b", "three")]


def test_strategic_merge_patch_on_mpijob_is_415(
    emu_server: EmulatorServer, emu_token: str, custom: client.CustomObjectsApi
) -> None:
    custom.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, mpijob())
    status, body, _ = raw(
        emu_server,
        "/apis/kubeflow.org/v2beta1/namespaces/default/mpijobs/pi",
        token=emu_token,
        method="PATCH",
        body={"spec": {}},
        headers={"Content-Type": "application/strategic-merge-patch+json"},
    )
    assert status == 415
    assert body["reason"] == "UnsupportedMediaType"


def test_server_side_apply_creates_then_updates(emu_server: EmulatorServer, emu_token: str) -> None:
    path = "/api/v1/namespaces/default/configmaps/applied?fieldManager=test"
    headers = {"Content-Type": "application/apply-patch+yaml"}
    config = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "applied"},
        "data": {"a": "1", "b": "2"},
    }
    status, created, _ = raw(
        emu_server, path, token=emu_token, method="PATCH", body=config, headers=headers
    )
    assert status == 201
    assert created["data"] == {"a": "1", "b": "2"}
    config["data"] = {"a": "1"}  # the manager stops applying b: it is removed
    status, updated, _ = raw(
        emu_server, path, token=emu_token, method="PATCH", body=config, headers=headers
    )
    assert status == 200
    assert updated["data"] == {"a": "1"}
    status, body, _ = raw(
        emu_server,
        "/api/v1/namespaces/default/configmaps/applied",
        token=emu_token,
        method="PATCH",
        body=config,
        headers=headers,
    )
    assert status == 400
    assert "fieldManager" in body["message"]


def test_patch_with_stale_resource_version_conflicts(core: client.CoreV1Api) -> None:
    created = core.create_namespaced_config_map(
        "default", {"metadata": {"name": "c"}, "data": {"a": "1"}}
    )
    core.patch_namespaced_config_map("c", "default", {"data": {"a": "2"}})
    with pytest.raises(client.ApiException) as info:
        core.patch_namespaced_config_map(
            "c",
            "default",
            {
                "metadata": {"resourceVersion": created.metadata.resource_version},
                "data": {"a": "3"},
            },
        )
    assert info.value.status == 409


# ------------------------------------------------------------------ lists


def test_list_selectors_and_paging(core: client.CoreV1Api) -> None:
    for i in range(5):
        core.create_namespaced_config_map(
            "default",
            {
                "metadata": {
                    "name": f"c{i}",
                    "labels": {"parity": "even" if i % 2 == 0 else "odd", "n": str(i)},
                }
            },
        )
    names = lambda items: [i.metadata.name for i in items]  # noqa: E731
    assert names(
        core.list_namespaced_config_map("default", label_selector="parity=even").items
    ) == ["c0", "c2", "c4"]
    assert names(
        core.list_namespaced_config_map("default", label_selector="parity!=even,n notin (1)").items
    ) == ["c3"]
    assert names(core.list_namespaced_config_map("default", label_selector="n in (1,4)").items) == [
        "c1",
        "c4",
    ]
    assert names(
        core.list_namespaced_config_map("default", field_selector="metadata.name=c3").items
    ) == ["c3"]
    assert names(
        core.list_config_map_for_all_namespaces(field_selector="metadata.namespace=default").items
    ) == [f"c{i}" for i in range(5)]

    first = core.list_namespaced_config_map("default", limit=2)
    assert names(first.items) == ["c0", "c1"]
    assert first.metadata.remaining_item_count == 3
    second = core.list_namespaced_config_map("default", limit=2, _continue=first.metadata._continue)
    assert names(second.items) == ["c2", "c3"]
    third = core.list_namespaced_config_map("default", limit=2, _continue=second.metadata._continue)
    assert names(third.items) == ["c4"]
    assert third.metadata._continue is None


def test_expired_continue_token_is_410(emu_store: Store, core: client.CoreV1Api) -> None:
    for i in range(3):
        core.create_namespaced_config_map("default", {"metadata": {"name": f"c{i}"}})
    first = core.list_namespaced_config_map("default", limit=1)
    core.create_namespaced_config_map("default", {"metadata": {"name": "later"}})
    emu_store.compact()
    with pytest.raises(client.ApiException) as info:
        core.list_namespaced_config_map("default", limit=1, _continue=first.metadata._continue)
    assert info.value.status == 410
    assert _status(info.value)["reason"] == "Expired"


def test_table_output(
    emu_server: EmulatorServer, emu_token: str, custom: client.CustomObjectsApi
) -> None:
    custom.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, mpijob())
    status, table, _ = raw(
        emu_server,
        "/apis/kubeflow.org/v2beta1/namespaces/default/mpijobs",
        token=emu_token,
        headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"},
    )
    assert status == 200
    assert table["kind"] == "Table"
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Age"]
    assert table["rows"][0]["cells"][0] == "pi"
    assert table["rows"][0]["object"]["kind"] == "PartialObjectMetadata"


# ------------------------------------------------------------------ delete


def _owned_family(core: client.CoreV1Api, custom: client.CustomObjectsApi) -> None:
    job = custom.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, mpijob())
    ref = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "MPIJob",
        "name": "pi",
        "uid": job["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }
    for name in ("pi-worker-0", "pi-worker-1"):
        core.create_namespaced_pod(
            "default",
            {
                "metadata": {"name": name, "ownerReferences": [ref]},
                "spec": {"containers": [{"name": "w", "image": "i"}]},
            },
        )
    core.create_namespaced_config_map(
        "default", {"metadata": {"name": "pi-config", "ownerReferences": [ref]}}
    )


@pytest.mark.parametrize(
    ("policy", "pods_left"),
    [
        (None, []),
        ("Background", []),
        ("Foreground", []),
        ("Orphan", ["pi-worker-0", "pi-worker-1"]),
    ],
)
def test_delete_propagation(
    core: client.CoreV1Api,
    custom: client.CustomObjectsApi,
    policy: str | None,
    pods_left: list[str],
) -> None:
    _owned_family(core, custom)
    kwargs = {} if policy is None else {"propagation_policy": policy}
    custom.delete_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "pi", **kwargs)
    assert [p.metadata.name for p in core.list_namespaced_pod("default").items] == pods_left
    if policy == "Orphan":
        assert core.read_namespaced_pod("pi-worker-0", "default").metadata.owner_references is None


def test_delete_options_body(core: client.CoreV1Api, custom: client.CustomObjectsApi) -> None:
    _owned_family(core, custom)
    custom.delete_namespaced_custom_object(
        GROUP,
        VERSION,
        "default",
        PLURAL,
        "pi",
        body=client.V1DeleteOptions(propagation_policy="Orphan"),
    )
    assert len(core.list_namespaced_pod("default").items) == 2


def test_delete_precondition_conflict(core: client.CoreV1Api) -> None:
    core.create_namespaced_config_map("default", {"metadata": {"name": "c"}})
    with pytest.raises(client.ApiException) as info:
        core.delete_namespaced_config_map(
            "c",
            "default",
            body=client.V1DeleteOptions(preconditions=client.V1Preconditions(uid="not-it")),
        )
    assert info.value.status == 409
    assert "Precondition failed" in _status(info.value)["message"]


def test_delete_collection(core: client.CoreV1Api) -> None:
    for i in range(3):
        core.create_namespaced_config_map(
            "default", {"metadata": {"name": f"c{i}", "labels": {"drop": str(i < 2).lower()}}}
        )
    core.delete_collection_namespaced_config_map("default", label_selector="drop=true")
    assert [c.metadata.name for c in core.list_namespaced_config_map("default").items] == ["c2"]


def test_job_delete_without_policy_orphans_pods(k8s: client.ApiClient, emu_store: Store) -> None:
    batch, core = client.BatchV1Api(k8s), client.CoreV1Api(k8s)
    job = batch.create_namespaced_job(
        "default",
        {
            "metadata": {"name": "l"},
            "spec": {
                "template": {
                    "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "i"}]}
                }
            },
        },
    )
    ref = {"apiVersion": "batch/v1", "kind": "Job", "name": "l", "uid": job.metadata.uid}
    core.create_namespaced_pod(
        "default",
        {
            "metadata": {"name": "l-abcde", "ownerReferences": [ref]},
            "spec": {"containers": [{"name": "c", "image": "i"}]},
        },
    )
    batch.delete_namespaced_job("l", "default")  # batch/v1 defaults to orphaning, as upstream
    assert [p.metadata.name for p in core.list_namespaced_pod("default").items] == ["l-abcde"]


def test_an_emulator_bug_is_a_500_status() -> None:
    def broken(obj: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        raise RuntimeError("validator exploded")

    with EmulatorServer(Store(), token="t", validators={"configmaps": broken}) as server:
        status, body, _ = raw(
            server,
            "/api/v1/namespaces/default/configmaps",
            token="t",
            method="POST",
            body={"metadata": {"name": "c"}},
            headers={"Content-Type": "application/json"},
        )
    assert status == 500
    assert body["reason"] == "InternalError"
    assert "validator exploded" in body["message"]


def test_main_update_ignores_even_an_invalid_status(custom: client.CustomObjectsApi) -> None:
    created = custom.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, mpijob())
    created["status"] = {"conditions": [{"type": "Running", "status": "Maybe"}]}
    created["spec"]["slotsPerWorker"] = 3
    replaced = custom.replace_namespaced_custom_object(
        GROUP, VERSION, "default", PLURAL, "pi", created
    )
    assert replaced["spec"]["slotsPerWorker"] == 3
    assert "status" not in replaced


@pytest.mark.parametrize(
    ("method", "path", "code"),
    [
        ("POST", "/api/v1/namespaces/default/pods/p", 405),
        ("PUT", "/api/v1/namespaces/default/pods", 405),
        ("POST", "/version", 405),
        ("GET", "/api/v1/namespaces/default/widgets", 404),
        ("GET", "/api/v1/namespaces/default/pods/p/exec", 404),
        ("GET", "/apis/batch/v2/namespaces/default/jobs", 404),
        ("GET", "/nothing/here", 404),
    ],
)
def test_unknown_paths_and_methods(
    emu_server: EmulatorServer, emu_token: str, method: str, path: str, code: int
) -> None:
    status, body, _ = raw(emu_server, path, token=emu_token, method=method, body={})
    assert status == code
    assert body["kind"] == "Status"
    assert body["code"] == code


def test_get_status_subresource(custom: client.CustomObjectsApi) -> None:
    custom.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, mpijob())
    got = custom.get_namespaced_custom_object_status(GROUP, VERSION, "default", PLURAL, "pi")
    assert got["metadata"]["name"] == "pi"


def test_dry_run_checks_without_storing(core: client.CoreV1Api, emu_store: Store) -> None:
    before = emu_store.resource_version
    created = core.create_namespaced_config_map(
        "default", {"metadata": {"generateName": "c-"}, "data": {"a": "1"}}, dry_run="All"
    )
    assert created.metadata.name.startswith("c-")
    assert created.metadata.uid
    assert core.list_namespaced_config_map("default").items == []
    assert emu_store.resource_version == before

    core.create_namespaced_config_map("default", {"metadata": {"name": "c"}, "data": {"a": "1"}})
    with pytest.raises(client.ApiException) as info:
        core.create_namespaced_config_map("default", {"metadata": {"name": "c"}}, dry_run="All")
    assert info.value.status == 409
    patched = core.patch_namespaced_config_map("c", "default", {"data": {"a": "2"}}, dry_run="All")
    assert patched.data == {"a": "2"}
    assert core.read_namespaced_config_map("c", "default").data == {"a": "1"}
    core.delete_namespaced_config_map("c", "default", dry_run="All")
    assert core.read_namespaced_config_map("c", "default").metadata.name == "c"
    with pytest.raises(client.ApiException) as info:
        core.delete_namespaced_config_map("c", "default", dry_run="Some")
    assert info.value.status == 400
