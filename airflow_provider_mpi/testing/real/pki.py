"""Certificates made per start: a cluster CA, the API server's certificate, client identities.

Nothing is reused between starts. Keys are EC P-256 (fast to make). The files
live in the cluster's private temporary folder (mode 0600 for keys):

- ``ca.crt``/``ca.key``: the CA every component and client trusts;
- ``apiserver.crt``/``.key``: serving certificate for 127.0.0.1, ::1, localhost
  and the in-cluster names of the ``kubernetes`` Service;
- ``sa.key``/``sa.pub``: the service-account token signing key pair;
- client certificates: the harness' admin (``system:masters``), the
  controller-manager and scheduler under their RBAC bootstrap user names, and
  the API server's identity towards kubelets; more with :meth:`ClusterPKI.issue_client`.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from airflow_provider_mpi.testing.server.tls import alt_names, key_pem, key_usage

__all__ = ["APISERVER_HOSTS", "CertPair", "ClusterPKI"]

#: The subjectAltNames of the API server's certificate.
APISERVER_HOSTS = (
    "127.0.0.1",
    "::1",
    "localhost",
    "10.0.0.1",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
)


@dataclass(frozen=True)
class CertPair:
    """A certificate and its key on disk.

    Attributes:
        cert: the PEM certificate.
        key: the PEM private key (mode 0600).
    """

    cert: Path
    key: Path


def _write(path: Path, data: bytes, private: bool = False) -> Path:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    return path


class ClusterPKI:
    """A fresh CA and the identities of one control-plane start.

    Args:
        folder: Where the files go (created).
        days: Validity of every certificate.
    """

    def __init__(self, folder: Path, days: int = 7) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self._now = datetime.datetime.now(datetime.timezone.utc)
        self._days = days
        self._ca_key = ec.generate_private_key(ec.SECP256R1())
        self._ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "real-cluster-ca")])
        ca = self._builder(self._ca_name, self._ca_key.public_key())
        ca = ca.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        ca = ca.add_extension(key_usage(cert_sign=True, crl_sign=True), critical=True)
        self._ca_cert = ca.sign(self._ca_key, hashes.SHA256())
        self.ca = CertPair(
            _write(folder / "ca.crt", self._ca_cert.public_bytes(serialization.Encoding.PEM)),
            _write(folder / "ca.key", key_pem(self._ca_key), private=True),
        )
        sa_key = ec.generate_private_key(ec.SECP256R1())
        self.service_account_key = _write(folder / "sa.key", key_pem(sa_key), private=True)
        self.service_account_pub = _write(
            folder / "sa.pub",
            sa_key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            ),
        )
        self.apiserver = self.issue_server("apiserver", APISERVER_HOSTS)
        self.admin = self.issue_client("admin", "real-cluster-admin", ("system:masters",))
        self.controller_manager = self.issue_client(
            "kube-controller-manager", "system:kube-controller-manager"
        )
        self.scheduler = self.issue_client("kube-scheduler", "system:kube-scheduler")
        self.kubelet_client = self.issue_client(
            "apiserver-kubelet-client", "kube-apiserver-kubelet-client", ("system:masters",)
        )

    @property
    def ca_pem(self) -> bytes:
        """The CA certificate, PEM encoded."""
        return self._ca_cert.public_bytes(serialization.Encoding.PEM)

    def _builder(
        self, subject: x509.Name, public_key: ec.EllipticCurvePublicKey
    ) -> x509.CertificateBuilder:
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self._ca_name if hasattr(self, "_ca_name") else subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(self._now - datetime.timedelta(minutes=5))
            .not_valid_after(self._now + datetime.timedelta(days=self._days))
        )

    def _issue(
        self,
        name: str,
        subject: x509.Name,
        usages: tuple[x509.ObjectIdentifier, ...],
        hosts: tuple[str, ...] = (),
    ) -> CertPair:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = self._builder(subject, key.public_key())
        builder = builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
        builder = builder.add_extension(key_usage(cert_sign=False, crl_sign=False), critical=True)
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(usages)), critical=False)
        if hosts:
            builder = builder.add_extension(alt_names(hosts), critical=False)
        cert = builder.sign(self._ca_key, hashes.SHA256())
        return CertPair(
            _write(self.folder / f"{name}.crt", cert.public_bytes(serialization.Encoding.PEM)),
            _write(self.folder / f"{name}.key", key_pem(key), private=True),
        )

    def issue_client(self, name: str, user: str, groups: tuple[str, ...] = ()) -> CertPair:
        """A client certificate: the API server reads the user from CN and the groups from O.

        Args:
            name: The file name stem.
            user: The user name (``system:node:node-1`` for a kubelet).
            groups: The groups (``system:nodes``).

        Returns:
            The files.
        """
        attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, group) for group in groups]
        attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, user))
        return self._issue(name, x509.Name(attributes), (ExtendedKeyUsageOID.CLIENT_AUTH,))

    def issue_server(self, name: str, hosts: tuple[str, ...]) -> CertPair:
        """A serving certificate for these IP addresses and DNS names.

        Args:
            name: The file name stem (and the certificate's CN).
            hosts: The subjectAltNames.

        Returns:
            The files.
        """
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        return self._issue(
            name,
            subject,
            (ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH),
            hosts,
        )
