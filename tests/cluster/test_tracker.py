"""MPIOperatorTracker against the emulated cluster: construction, submission, reading, control."""

from __future__ import annotations

from pathlib import Path

import kubernetes.client
import pytest

from airflow_provider_mpi.drmaa2 import (
    AuthorizationError,
    BackendError,
    ConflictError,
    InvalidArgumentError,
    InvalidStateError,
    InvalidTemplateError,
    JobControlAction,
    JobNotFoundError,
    JobState,
    JobTemplate,
)
from airflow_provider_mpi.drmaa2.tracker import JobOutputReader, JobTemplater, JobTracker
from airflow_provider_mpi.mpioperator import MPIOperatorTracker
from airflow_provider_mpi.mpioperator.names import ANNOTATION_JOB_TEMPLATE
from airflow_provider_mpi.mpioperator.template import set_namespace_extension
from airflow_provider_mpi.testing import MPICluster
from tests.cluster.tracker_support import (
    create_namespace,
    mpijob,
    mpijob_names,
    pods,
    template,
)

A = JobControlAction
S = JobState


@pytest.fixture
def tracker(mpi_cluster: MPICluster) -> MPIOperatorTracker:
    return MPIOperatorTracker(mpi_cluster.kubeconfig_path, namespace=mpi_cluster.namespace)


# Construction


def test_implements_the_protocols(tracker: MPIOperatorTracker) -> None:
    assert isinstance(tracker, JobTracker)
    assert isinstance(tracker, JobTemplater)
    assert isinstance(tracker, JobOutputReader)


def test_kubeconfig_from_the_environment(
    mpi_cluster: MPICluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBECONFIG", mpi_cluster.kubeconfig_path)
    with MPIOperatorTracker() as tracker:
        assert tracker.list_jobs() == []


def test_kubeconfig_from_the_home_directory(
    mpi_cluster: MPICluster, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".kube").mkdir()
    mpi_cluster.write_kubeconfig(str(tmp_path / ".kube" / "config"))
    with MPIOperatorTracker() as tracker:
        assert tracker.list_jobs() == []


def test_in_cluster_service_account(
    mpi_cluster: MPICluster, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """No kubeconfig anywhere: the pod's service account and the service env."""
    import kubernetes.config.incluster_config as incluster

    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    host, port = mpi_cluster.url.removeprefix("https://").rsplit(":", 1)
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", host)
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", port)
    token, ca = tmp_path / "token", tmp_path / "ca.crt"
    token.write_text(mpi_cluster.token)
    assert mpi_cluster.certificate_authority is not None
    ca.write_bytes(mpi_cluster.certificate_authority)
    # The client reads the service account from fixed paths in a pod; point
    # them at the files above (the library's own constants, read at call time).
    monkeypatch.setattr(incluster, "SERVICE_TOKEN_FILENAME", str(token))
    monkeypatch.setattr(incluster, "SERVICE_CERT_FILENAME", str(ca))
    with MPIOperatorTracker() as tracker:
        assert tracker.list_jobs() == []


def test_api_client_wins_over_kubeconfig(mpi_cluster: MPICluster, tmp_path: Path) -> None:
    tracker = MPIOperatorTracker(str(tmp_path / "missing"), api_client=mpi_cluster.api_client())
    assert tracker.list_jobs() == []


def test_global_configuration_is_left_alone(mpi_cluster: MPICluster) -> None:
    before = kubernetes.client.Configuration.get_default_copy().host
    MPIOperatorTracker(mpi_cluster.kubeconfig_path).list_jobs()
    assert kubernetes.client.Configuration.get_default_copy().host == before


def test_no_configuration_says_what_to_do(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(BackendError, match="no Kubernetes configuration"):
        MPIOperatorTracker()


@pytest.mark.parametrize(
    ("text", "env"), [(None, False), ("foo: [", False), ("kind: Config\n", True)]
)
def test_unusable_kubeconfig_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str | None, env: bool
) -> None:
    path = tmp_path / "kubeconfig"
    if text is not None:
        path.write_text(text)
    if env:
        monkeypatch.setenv("KUBECONFIG", str(path))
    with pytest.raises(InvalidArgumentError) as info:
        MPIOperatorTracker(None if env else str(path))
    assert (info.value.field, info.value.value) == (
        "KUBECONFIG" if env else "kubeconfig_path",
        str(path),
    )
    assert "cannot load the Kubernetes configuration" in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"namespace": "Bad_NS"}, "namespace"),
        ({"install_operator": True}, "operator_manifest"),
    ],
)
def test_bad_arguments(mpi_cluster: MPICluster, kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        MPIOperatorTracker(mpi_cluster.kubeconfig_path, **kwargs)  # type: ignore[arg-type]
    assert info.value.field == field


# Submission


def test_add_job_keeps_the_template(tracker: MPIOperatorTracker, mpi_cluster: MPICluster) -> None:
    jt = template()
    job_id = tracker.add_job(jt)
    namespace, name = job_id.split("/")
    assert namespace == mpi_cluster.namespace
    assert name.startswith("mpijob-")
    assert ANNOTATION_JOB_TEMPLATE in mpijob(mpi_cluster, job_id)["metadata"]["annotations"]
    assert tracker.job_template(job_id) == jt
    assert tracker.job_template(name) == jt  # a bare name means the tracker's namespace


def test_job_name_is_the_object_name(tracker: MPIOperatorTracker, mpi_cluster: MPICluster) -> None:
    assert tracker.add_job(template(name="pi-run")) == f"{mpi_cluster.namespace}/pi-run"


def test_taken_job_name_is_a_conflict_naming_the_job(
    tracker: MPIOperatorTracker, mpi_cluster: MPICluster
) -> None:
    tracker.add_job(template(name="pi-run"))
    with pytest.raises(ConflictError, match=f"{mpi_cluster.namespace}/pi-run"):
        tracker.add_job(template(name="pi-run"))


@pytest.mark.emulator_only("counts requests")
def test_invalid_template_fails_before_any_request(
    tracker: MPIOperatorTracker, mpi_cluster: MPICluster
) -> None:
    tracker.list_jobs()
    before = mpi_cluster.requests.total
    with pytest.raises(InvalidTemplateError) as info:
        tracker.add_job(JobTemplate(remote_command="python", job_category="img"))
    assert info.value.field == "min_slots"
    assert mpi_cluster.requests.total == before
    assert mpijob_names(mpi_cluster) == []


@pytest.mark.emulator_only("creates a namespace in the emulator's store")
def test_namespace_extension_places_the_job(
    tracker: MPIOperatorTracker, mpi_cluster: MPICluster
) -> None:
    create_namespace(mpi_cluster, "team-b")
    job_id = tracker.add_job(set_namespace_extension(template(), "team-b"))
    assert job_id.startswith("team-b/")
    assert tracker.job_state(job_id)[0] in (S.QUEUED, S.RUNNING)
    assert mpijob_names(mpi_cluster, "team-b") == [job_id.split("/")[1]]
    assert tracker.list_jobs() == []  # list_jobs covers the tracker's namespace


# Reading


def test_list_jobs_oldest_first_and_categories(tracker: MPIOperatorTracker) -> None:
    ids = [tracker.add_job(template(name=f"job-{i}")) for i in range(3)]
    assert tracker.list_jobs() == ids
    assert tracker.list_job_categories() == ["mpioperator/mpi-pi:openmpi"]


def test_find_jobs_by_labels(tracker: MPIOperatorTracker) -> None:
    first = tracker.add_job(template(labels={"team": "a"}))
    tracker.add_job(template(labels={"team": "b"}))
    second = tracker.add_job(template(labels={"team": "a"}))
    assert tracker.find_jobs({"team": "a"}) == [first, second]
    assert tracker.find_jobs({"team": "c"}) == []
    with pytest.raises(InvalidArgumentError):
        tracker.find_jobs({"bad key!": "x"})


@pytest.mark.mpi_cluster(clock=50.0)
def test_states_and_info_of_a_finished_job(tracker: MPIOperatorTracker) -> None:
    job_id = tracker.add_job(template(duration=1, exit_code=3, log=["rank 0 ok", "boom"]))
    assert tracker.wait(job_id, 30) is S.FAILED
    state, substate = tracker.job_state(job_id)
    assert state is S.FAILED
    assert substate.startswith("failed")
    info = tracker.job_info(job_id)
    assert (info.id, info.state, info.exit_status) == (job_id, S.FAILED, 3)
    assert info.allocated_machines
    assert list(tracker.job_output(job_id)) == ["rank 0 ok", "boom"]
    assert list(tracker.job_output(job_id, tail_lines=1)) == ["boom"]


@pytest.mark.emulator_only("the unschedulable script: the real scheduler binds every pod")
@pytest.mark.mpi_cluster(clock=50.0)
def test_events_of_an_unschedulable_job(
    tracker: MPIOperatorTracker, mpi_cluster: MPICluster
) -> None:
    job_id = tracker.add_job(template(unschedulable="true"))
    mpi_cluster.wait_for(lambda: bool(tracker.job_events(job_id, warnings_only=True)), 10)
    events = tracker.job_events(job_id)
    assert any(event.reason == "MPIJobCreated" for event in events)
    warnings = tracker.job_events(job_id, warnings_only=True)
    assert warnings
    assert all(event.is_warning for event in warnings)
    assert {event.reason for event in warnings} == {"FailedScheduling"}
    assert all(event.object_kind == "Pod" for event in warnings)
    assert tracker.job_state(job_id)[0] is S.QUEUED


@pytest.mark.parametrize(
    "call",
    [
        lambda t: t.job_state("default/nope"),
        lambda t: t.job_info("nope"),
        lambda t: t.job_template("nope"),
        lambda t: t.job_events("nope"),
        lambda t: list(t.job_output("nope")),
        lambda t: t.job_control("nope", "suspend"),
        lambda t: t.delete_job("nope"),
        lambda t: t.wait("nope", 1),
        lambda t: t.list_array_jobs("nope"),
    ],
)
def test_unknown_job_is_not_found(tracker: MPIOperatorTracker, call: object) -> None:
    with pytest.raises(JobNotFoundError) as info:
        call(tracker)  # type: ignore[operator]
    assert "nope" in info.value.job_id


@pytest.mark.emulator_only("counts requests")
def test_malformed_ids_fail_before_any_request(
    tracker: MPIOperatorTracker, mpi_cluster: MPICluster
) -> None:
    before = mpi_cluster.requests.total
    for call in (tracker.job_state, tracker.job_info, tracker.delete_job):
        with pytest.raises(InvalidArgumentError):
            call("a/b/c")
    assert mpi_cluster.requests.total == before


# Control


@pytest.mark.mpi_cluster(clock="manual")
def test_suspend_resume_terminate_keep_the_record(
    tracker: MPIOperatorTracker, mpi_cluster: MPICluster
) -> None:
    job_id = tracker.add_job(template(duration=100))
    name = job_id.split("/")[1]
    mpi_cluster.advance(0)
    assert tracker.job_state(job_id)[0] is S.RUNNING
    tracker.job_control(job_id, A.SUSPEND)
    mpi_cluster.advance(0)
    assert tracker.job_state(job_id) == (S.SUSPENDED, "suspended")
    assert pods(mpi_cluster, name) == []
    tracker.job_control(job_id, "resume")
    mpi_cluster.advance(0)
    assert tracker.job_state(job_id)[0] is S.RUNNING
    tracker.job_control(job_id, A.TERMINATE)
    mpi_cluster.advance(1)
    assert tracker.job_state(job_id) == (S.FAILED, "terminated")
    assert pods(mpi_cluster, name) == []
    assert tracker.job_info(job_id).state is S.FAILED  # the record survives
    mpi_cluster.advance(30)
    assert tracker.job_state(job_id) == (S.FAILED, "terminated")


@pytest.mark.mpi_cluster(clock="manual")
def test_hold_and_release_before_start(
    tracker: MPIOperatorTracker, mpi_cluster: MPICluster
) -> None:
    job_id = tracker.add_job(template(duration=100, start_delay="50"))
    mpi_cluster.advance(0)
    assert tracker.job_state(job_id)[0] is S.QUEUED
    tracker.job_control(job_id, A.HOLD)
    mpi_cluster.advance(0)
    assert tracker.job_state(job_id) == (S.QUEUED_HELD, "held")
    tracker.job_control(job_id, A.RELEASE)
    mpi_cluster.advance(0)
    assert tracker.job_state(job_id)[0] is S.QUEUED
    mpi_cluster.advance(60)
    assert tracker.job_state(job_id)[0] is S.RUNNING


@pytest.mark.mpi_cluster(clock="manual")
def test_submit_as_hold(tracker: MPIOperatorTracker, mpi_cluster: MPICluster) -> None:
    job_id = tracker.add_job(template().replace(submit_as_hold=True))
    mpi_cluster.advance(5)
    assert tracker.job_state(job_id)[0] is S.QUEUED_HELD
    tracker.job_control(job_id, A.RELEASE)
    mpi_cluster.advance(0)
    assert tracker.job_state(job_id)[0] is S.RUNNING


@pytest.mark.mpi_cluster(clock="manual")
@pytest.mark.parametrize(
    ("setup", "action", "state"),
    [
        ("running", A.HOLD, S.RUNNING),
        ("running", A.RELEASE, S.RUNNING),
        ("running", A.RESUME, S.RUNNING),
        ("done", A.SUSPEND, S.DONE),
        ("done", A.TERMINATE, S.DONE),
        ("done", A.HOLD, S.DONE),
        ("held", A.SUSPEND, S.QUEUED_HELD),
        ("held", A.RESUME, S.QUEUED_HELD),
        ("suspended", A.HOLD, S.SUSPENDED),
        ("suspended", A.RELEASE, S.SUSPENDED),
    ],
)
def test_refused_actions_name_job_state_and_action(
    tracker: MPIOperatorTracker,
    mpi_cluster: MPICluster,
    setup: str,
    action: JobControlAction,
    state: JobState,
) -> None:
    job_id = tracker.add_job(template(duration=1).replace(submit_as_hold=setup == "held"))
    mpi_cluster.advance(0)
    if setup == "done":
        mpi_cluster.advance(2)
    if setup == "suspended":
        tracker.job_control(job_id, A.SUSPEND)
        mpi_cluster.advance(0)
    before = mpijob(mpi_cluster, job_id)
    with pytest.raises(InvalidStateError) as info:
        tracker.job_control(job_id, action)
    assert (info.value.job_id, info.value.state, info.value.action) == (job_id, state, action)
    assert str(action) in str(info.value)
    assert mpijob(mpi_cluster, job_id)["spec"] == before["spec"]


def test_unknown_action(tracker: MPIOperatorTracker) -> None:
    job_id = tracker.add_job(template())
    with pytest.raises(InvalidArgumentError) as info:
        tracker.job_control(job_id, "pause")
    assert info.value.field == "action"


@pytest.mark.mpi_cluster(clock="manual")
def test_delete_only_finished_jobs_and_their_children(
    tracker: MPIOperatorTracker, mpi_cluster: MPICluster
) -> None:
    job_id = tracker.add_job(template(duration=2))
    name = job_id.split("/")[1]
    mpi_cluster.advance(0)
    with pytest.raises(InvalidStateError) as info:
        tracker.delete_job(job_id)
    assert info.value.state is S.RUNNING
    mpi_cluster.advance(3)
    assert tracker.job_state(job_id)[0] is S.DONE
    tracker.delete_job(job_id)
    assert mpijob_names(mpi_cluster) == []
    mpi_cluster.advance(0)
    assert pods(mpi_cluster, name) == []
    with pytest.raises(JobNotFoundError):
        tracker.job_state(job_id)


# Cluster checks


def test_check_cluster(tracker: MPIOperatorTracker) -> None:
    tracker.check_cluster()


@pytest.mark.mpi_cluster(operator_installed=False)
def test_check_cluster_without_the_operator(tracker: MPIOperatorTracker) -> None:
    with pytest.raises(BackendError, match="not installed") as info:
        tracker.check_cluster()
    assert info.value.status == 404


def test_check_cluster_without_permission(
    tracker: MPIOperatorTracker, mpi_cluster: MPICluster
) -> None:
    if mpi_cluster.backend == "emulated":
        mpi_cluster.faults.forbid("default", resource="mpijobs")
    else:  # RBAC: the provider's Role is not bound in kube-public
        tracker = MPIOperatorTracker(mpi_cluster.kubeconfig_path, namespace="kube-public")
    with pytest.raises(AuthorizationError) as info:
        tracker.check_cluster()
    assert info.value.status == 403
