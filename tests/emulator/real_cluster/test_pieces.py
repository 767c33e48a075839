"""Pure pieces of the real control plane: certificates, command lines, the Role, manifests."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from airflow_provider_mpi.testing.real.access import PROVIDER_RULES, provider_rbac
from airflow_provider_mpi.testing.real.errors import ManifestError
from airflow_provider_mpi.testing.real.flags import (
    Ports,
    apiserver_argv,
    controller_manager_argv,
    etcd_argv,
    mpi_operator_argv,
    scheduler_argv,
)
from airflow_provider_mpi.testing.real.manifests import load_operator_manifests
from airflow_provider_mpi.testing.real.pki import ClusterPKI
from airflow_provider_mpi.testing.real.versions import (
    MPIJOB_CRD_PATH,
    OPERATOR_CLUSTER_ROLE_BINDING_PATH,
    OPERATOR_CLUSTER_ROLE_PATH,
)

PORTS = Ports(
    etcd_client=2379, etcd_peer=2380, apiserver=6443, controller_manager=10257, scheduler=10259
)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> ClusterPKI:
    return ClusterPKI(tmp_path_factory.mktemp("pki"))


def _load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_every_certificate_is_issued_by_the_fresh_ca(pki):
    ca = _load(pki.ca.cert)
    for pair in (
        pki.apiserver,
        pki.admin,
        pki.controller_manager,
        pki.scheduler,
        pki.kubelet_client,
    ):
        _load(pair.cert).verify_directly_issued_by(ca)
        assert stat.S_IMODE(pair.key.stat().st_mode) == 0o600
    assert stat.S_IMODE(pki.service_account_key.stat().st_mode) == 0o600


def test_the_apiserver_certificate_names_loopback_and_the_service(pki):
    names = _load(pki.apiserver.cert).extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    )
    dns = set(names.value.get_values_for_type(x509.DNSName))
    ips = {str(ip) for ip in names.value.get_values_for_type(x509.IPAddress)}
    assert {"127.0.0.1", "::1"} <= ips
    assert {"localhost", "kubernetes.default.svc"} <= dns


@pytest.mark.parametrize(
    ("pair", "user", "groups"),
    [
        ("admin", "real-cluster-admin", ["system:masters"]),
        ("controller_manager", "system:kube-controller-manager", []),
        ("scheduler", "system:kube-scheduler", []),
    ],
)
def test_client_identities_carry_the_rbac_user_and_groups(pki, pair, user, groups):
    subject = _load(getattr(pki, pair).cert).subject
    assert subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == user
    assert [a.value for a in subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)] == groups


def test_two_starts_share_no_key(tmp_path):
    first, second = ClusterPKI(tmp_path / "a"), ClusterPKI(tmp_path / "b")
    assert first.ca_pem != second.ca_pem
    assert first.service_account_key.read_bytes() != second.service_account_key.read_bytes()


def test_every_component_listens_on_loopback_only(pki, tmp_path):
    argvs = [
        etcd_argv(Path("etcd"), tmp_path, PORTS),
        apiserver_argv(Path("kube-apiserver"), pki, PORTS),
        controller_manager_argv(Path("kcm"), pki, tmp_path / "k", PORTS),
        scheduler_argv(Path("sched"), tmp_path / "k", PORTS),
    ]
    for argv in argvs:
        for flag in argv:
            if flag.startswith(("--bind-address=", "--advertise-address=")):
                assert flag.endswith("=127.0.0.1"), flag
            if "-urls=" in flag or flag.startswith("--etcd-servers="):
                assert "//127.0.0.1:" in flag, flag


def test_apiserver_runs_with_rbac_and_the_flags_a_kubelet_less_cluster_needs(pki):
    argv = apiserver_argv(Path("kube-apiserver"), pki, PORTS)
    for flag in (
        "--authorization-mode=Node,RBAC",
        "--endpoint-reconciler-type=none",
        "--kubelet-preferred-address-types=InternalIP,Hostname",
        f"--service-account-signing-key-file={pki.service_account_key}",
        f"--client-ca-file={pki.ca.cert}",
        "--secure-port=6443",
    ):
        assert flag in argv


def test_operator_runs_cluster_scoped_with_its_lease_namespace_and_no_gang_scheduling():
    argv = mpi_operator_argv(Path("mpi-operator"), Path("k"))
    assert "--lock-namespace=mpi-operator" in argv
    assert "--gang-scheduling=" in argv
    assert not any(flag.startswith("--namespace") for flag in argv)


def test_the_provider_role_holds_exactly_the_provider_verbs():
    granted = {
        (rule["apiGroups"][0], rule["resources"][0], verb)
        for rule in PROVIDER_RULES
        for verb in rule["verbs"]
    }
    mpijobs = {
        ("kubeflow.org", "mpijobs", v)
        for v in ("create", "get", "list", "watch", "patch", "delete")
    }
    core = {("", "pods", "list"), ("", "pods", "watch"), ("", "pods/log", "get")}
    core |= {("", "events", "list")}
    owners = {("", "configmaps", v) for v in ("create", "get", "list", "patch", "delete")}
    assert granted == mpijobs | core | owners
    objects = provider_rbac("jobs")
    kinds = [item["kind"] for _, item in objects]
    assert kinds == ["ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"]
    crd_reader = objects[3][1]["rules"]
    assert crd_reader == [
        {
            "apiGroups": ["apiextensions.k8s.io"],
            "resources": ["customresourcedefinitions"],
            "resourceNames": ["mpijobs.kubeflow.org"],
            "verbs": ["get"],
        }
    ]


def _operator_module() -> Path:
    from airflow_provider_mpi.testing.real.build import Builder
    from airflow_provider_mpi.testing.real.manifests import operator_module_dir
    from airflow_provider_mpi.testing.real.versions import MPI_OPERATOR

    builder = Builder()
    if not builder.is_built(MPI_OPERATOR):
        pytest.skip("mpi-operator is not built (its module is not known to be in the module cache)")
    return operator_module_dir(builder.build_info(MPI_OPERATOR))


def test_the_operator_manifests_come_from_its_module_with_the_release_crd():
    manifests = load_operator_manifests(_operator_module())
    assert manifests.crd["metadata"]["name"] == "mpijobs.kubeflow.org"
    names = {(item["kind"], item["metadata"]["name"]) for item in manifests.rbac}
    assert ("ClusterRole", "mpi-operator") in names
    binding = next(item for item in manifests.rbac if item["kind"] == "ClusterRoleBinding")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "mpi-operator", "namespace": "mpi-operator"}
    ]


def test_a_crd_that_is_not_the_release_is_refused(tmp_path):
    source = _operator_module()
    copy = tmp_path / "module"
    for relative in (
        MPIJOB_CRD_PATH,
        OPERATOR_CLUSTER_ROLE_PATH,
        OPERATOR_CLUSTER_ROLE_BINDING_PATH,
    ):
        (copy / relative).parent.mkdir(parents=True, exist_ok=True)
        (copy / relative).write_bytes((source / relative).read_bytes())
    crd = copy / MPIJOB_CRD_PATH
    crd.write_text(crd.read_text() + "\n# edited\n")
    with pytest.raises(ManifestError, match="expected 78b0131f"):
        load_operator_manifests(copy)


def test_a_stopped_real_cluster_says_how_to_start_it(tmp_path: Path) -> None:
    from airflow_provider_mpi.testing import ClusterNotRunningError
    from airflow_provider_mpi.testing.real import RealCluster

    cluster = RealCluster(cache=tmp_path, build=False)
    for name in ("url", "token", "kubeconfig_path"):
        with pytest.raises(
            ClusterNotRunningError, match=rf"RealCluster\.{name} .*with RealCluster"
        ):
            getattr(cluster, name)
