"""What the real control plane is built from: modules, versions, binaries and version stamps.

Every binary comes from a Go module served by the module proxy, pinned here,
and is cached under a folder named after its module version. Nothing is
downloaded pre-built.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "COMPONENTS",
    "ETCD",
    "KUBERNETES",
    "MPIJOB_CRD_PATH",
    "MPIJOB_CRD_SHA256",
    "MPI_OPERATOR",
    "MPI_OPERATOR_COMMIT",
    "OPERATOR_CLUSTER_ROLE_BINDING_PATH",
    "OPERATOR_CLUSTER_ROLE_PATH",
    "Component",
]

#: The tag v0.8.2 of kubeflow/mpi-operator.
MPI_OPERATOR_COMMIT = "caa3c47fc42eb762635f78045ec0fcd1a89eb038"
#: Inside the operator's module zip: the CRD of the release and its RBAC.
MPIJOB_CRD_PATH = "manifests/base/kubeflow.org_mpijobs.yaml"
OPERATOR_CLUSTER_ROLE_PATH = "manifests/base/cluster-role.yaml"
OPERATOR_CLUSTER_ROLE_BINDING_PATH = "manifests/base/cluster-role-binding.yaml"
#: sha256 of the CRD at that commit (see ../shared/mpi-operator/SOURCE.md).
MPIJOB_CRD_SHA256 = "78b0131f931fcc8d99f6ce0407281f41b62527e443ec691d26d9634b390ad3bb"


@dataclass(frozen=True)
class Component:
    """One Go module we build binaries from, in a generated module of our own.

    Attributes:
        name: the cache folder's prefix (``kubernetes``).
        module: the module path required by the generated module.
        version: its version (also the cache key).
        packages: the main packages to build, one binary each (named after the last element).
        ldflags_x: ``-X`` settings (``importpath.name=value``) so the binaries report their
            real version.
        replace_staging: replace every module the required module's go.mod asks for at
            ``v0.0.0`` (Kubernetes' staging modules) with this published version.
        main_source: a ``main.go`` to write when the module has no main package of its own.
    """

    name: str
    module: str
    version: str
    packages: tuple[str, ...]
    ldflags_x: tuple[str, ...] = ()
    replace_staging: str | None = None
    main_source: str | None = None
    binaries: tuple[str, ...] = field(default=())

    @property
    def key(self) -> str:
        """The cache folder of this build, e.g. ``kubernetes-v1.35.4``."""
        return f"{self.name}-{self.version}"

    @property
    def binary_names(self) -> tuple[str, ...]:
        """The binaries the build produces."""
        if self.binaries:
            return self.binaries
        return tuple(package.rsplit("/", 1)[-1] for package in self.packages)


def _kubernetes_version_flags(version: str) -> tuple[str, ...]:
    major, minor = version.lstrip("v").split(".")[:2]
    flags: list[str] = []
    for package in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [
            f"{package}.gitVersion={version}",
            f"{package}.gitMajor={major}",
            f"{package}.gitMinor={minor}",
            f"{package}.gitTreeState=clean",
        ]
    return tuple(flags)


KUBERNETES = Component(
    name="kubernetes",
    module="k8s.io/kubernetes",
    version="v1.35.4",
    packages=(
        "k8s.io/kubernetes/cmd/kube-apiserver",
        "k8s.io/kubernetes/cmd/kube-controller-manager",
        "k8s.io/kubernetes/cmd/kube-scheduler",
    ),
    ldflags_x=_kubernetes_version_flags("v1.35.4"),
    replace_staging="v0.35.4",
)

# The etcd release line Kubernetes v1.35 is tested with; its server module has
# no main package, so a one-line main calls etcdmain.Main.
ETCD = Component(
    name="etcd",
    module="go.etcd.io/etcd/server/v3",
    version="v3.6.5",
    packages=(".",),
    binaries=("etcd",),
    main_source=(
        "// Command etcd: the etcd server of go.etcd.io/etcd/server/v3, unchanged.\n"
        "package main\n\n"
        'import (\n\t"os"\n\n\t"go.etcd.io/etcd/server/v3/etcdmain"\n)\n\n'
        "func main() { etcdmain.Main(os.Args) }\n"
    ),
)

MPI_OPERATOR = Component(
    name="mpi-operator",
    module="github.com/kubeflow/mpi-operator",
    version="v0.8.2",
    packages=("github.com/kubeflow/mpi-operator/cmd/mpi-operator",),
    ldflags_x=(
        "github.com/kubeflow/mpi-operator/pkg/version.Version=v0.8.2",
        f"github.com/kubeflow/mpi-operator/pkg/version.GitSHA={MPI_OPERATOR_COMMIT}",
    ),
)

#: Built in this order, one at a time (the builds are CPU bound).
COMPONENTS: tuple[Component, ...] = (ETCD, KUBERNETES, MPI_OPERATOR)
