"""Pure pieces of the node agent: status merge patches and the objects it registers."""

from __future__ import annotations

from datetime import datetime, timezone

from airflow_provider_mpi.testing.real.nodeobjects import (
    kubelet_status,
    lease_object,
    micro_time,
    node_object,
    status_patch,
)

NOW = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)


def test_status_patch_replaces_lists_nests_objects_and_nulls_dropped_keys() -> None:
    old = {"phase": "Pending", "reason": "X", "nested": {"a": 1, "b": 2}, "list": [1, 2]}
    new = {"phase": "Running", "nested": {"a": 1, "b": 3}, "list": [2]}
    assert status_patch(old, new) == {
        "phase": "Running",
        "reason": None,
        "nested": {"b": 3},
        "list": [2],
    }
    assert status_patch(new, new) == {}
    assert status_patch(None, {"phase": "Pending"}) == {"phase": "Pending"}


def test_kubelet_status_keeps_fields_and_conditions_it_does_not_own() -> None:
    old = {
        "qosClass": "Burstable",
        "observedGeneration": 1,
        "reason": "Evicted",
        "conditions": [
            {"type": "PodScheduled", "status": "True"},
            {"type": "DisruptionTarget", "status": "True", "reason": "DeletionByTaintManager"},
        ],
    }
    rendered = {"phase": "Running", "conditions": [{"type": "PodScheduled", "status": "True"}]}
    wanted = kubelet_status(old, rendered)
    assert wanted["qosClass"] == "Burstable"
    assert wanted["observedGeneration"] == 1
    assert "reason" not in wanted  # the kubelet's field, no longer rendered
    assert [c["type"] for c in wanted["conditions"]] == ["PodScheduled", "DisruptionTarget"]


def test_node_and_lease_objects() -> None:
    node = node_object("n1", 10250, NOW)
    assert node["metadata"]["labels"]["kubernetes.io/hostname"] == "n1"
    assert node["status"]["daemonEndpoints"] == {"kubeletEndpoint": {"Port": 10250}}
    info = node["status"]["nodeInfo"]
    assert info["kubeletVersion"] == "v1.35.4"
    assert info["operatingSystem"] == "linux"
    lease = lease_object("n1", NOW)
    assert lease["metadata"] == {"name": "n1", "namespace": "kube-node-lease"}
    assert lease["spec"]["renewTime"] == micro_time(NOW) == "2026-01-02T03:04:05.678901Z"
