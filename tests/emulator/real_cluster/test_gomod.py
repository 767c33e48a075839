"""The generated go.mod files: staging modules, godebug, and go's "module refused" messages."""

from __future__ import annotations

import pytest

from airflow_provider_mpi.testing.real.gomod import (
    module_failure,
    parse_go_mod,
    render_go_mod,
    render_tools_go,
)
from airflow_provider_mpi.testing.real.versions import ETCD, KUBERNETES, MPI_OPERATOR

KUBERNETES_LIKE = """\
// This is a generated file. Do not edit directly.

module k8s.io/kubernetes

go 1.25.0

godebug default=go1.25

require (
\tgithub.com/spf13/cobra v1.10.0
\tk8s.io/api v0.0.0
\tk8s.io/client-go v0.0.0 // indirect
\tk8s.io/klog/v2 v2.130.1
)

require k8s.io/kubelet v0.0.0

replace (
\tk8s.io/api => ./staging/src/k8s.io/api
\tk8s.io/sample-controller => ./staging/src/k8s.io/sample-controller
\tgithub.com/x/y => github.com/x/y v1.0.0
)
"""


def test_staging_modules_are_read_from_require_and_local_replace():
    upstream = parse_go_mod(KUBERNETES_LIKE)
    assert upstream.go == "1.25.0"
    assert upstream.godebug == ("default=go1.25",)
    assert upstream.staging == (
        "k8s.io/api",
        "k8s.io/client-go",
        "k8s.io/kubelet",
        "k8s.io/sample-controller",
    )


def test_godebug_block_is_copied_line_by_line():
    upstream = parse_go_mod("module m\n\ngo 1.24\n\ngodebug (\n\tdefault=go1.21\n\tpanicnil=1\n)\n")
    assert upstream.godebug == ("default=go1.21", "panicnil=1")
    assert upstream.staging == ()


def test_a_go_mod_without_go_directive_is_refused():
    with pytest.raises(ValueError, match="no go directive"):
        parse_go_mod("module m\n")


def test_kubernetes_module_replaces_every_staging_module_with_the_published_release():
    text = render_go_mod(KUBERNETES, parse_go_mod(KUBERNETES_LIKE))
    assert "require k8s.io/kubernetes v1.35.4\n" in text
    assert "godebug default=go1.25\n" in text
    assert "go 1.25.0\n" in text
    for module in ("k8s.io/api", "k8s.io/client-go", "k8s.io/kubelet", "k8s.io/sample-controller"):
        assert f"replace {module} => {module} v0.35.4\n" in text
    assert "github.com/x/y" not in text


def test_operator_and_etcd_modules_replace_nothing():
    upstream = parse_go_mod("module m\n\ngo 1.26.0\n\nrequire k8s.io/api v0.0.0\n")
    for component in (MPI_OPERATOR, ETCD):
        text = render_go_mod(component, upstream)
        assert "replace" not in text
        assert f"require {component.module} {component.version}" in text


def test_tools_go_imports_the_main_packages():
    text = render_tools_go(KUBERNETES.packages)
    assert text.startswith("//go:build tools\n")
    for package in KUBERNETES.packages:
        assert f'_ "{package}"' in text


def test_version_ldflags_cover_component_base_and_client_go():
    settings = set(KUBERNETES.ldflags_x)
    for package in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        assert f"{package}.gitVersion=v1.35.4" in settings
        assert f"{package}.gitMajor=1" in settings
        assert f"{package}.gitMinor=35" in settings


@pytest.mark.parametrize(
    ("output", "module", "version"),
    [
        (
            "go: downloading x\ngo: volcano.sh/apis@v1.14.0: reading "
            "https://proxy.golang.org/volcano.sh/apis/@v/v1.14.0.mod: 404 Not Found\n",
            "volcano.sh/apis",
            "v1.14.0",
        ),
        (
            "go: sigs.k8s.io/scheduler-plugins@v0.34.7: module lookup disabled by GOPROXY=off\n",
            "sigs.k8s.io/scheduler-plugins",
            "v0.34.7",
        ),
        (
            "verifying example.com/m@v1.2.3: example.com/m@v1.2.3: 410 Gone\n",
            "example.com/m",
            "v1.2.3",
        ),
    ],
)
def test_a_refused_module_is_named_with_its_version(output, module, version):
    failure = module_failure(output)
    assert failure is not None
    assert (failure.module, failure.version) == (module, version)


def test_a_compile_error_names_no_module():
    assert module_failure("# k8s.io/foo\n./x.go:3:1: syntax error\n") is None
