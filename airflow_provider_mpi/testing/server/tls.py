"""A throw-away TLS identity for the emulated API server.

``kubectl`` (client-go) never sends a bearer token over plain HTTP, so an
emulator that requires one must speak HTTPS. This module makes a self-signed
certificate for the loopback addresses at start-up (an EC P-256 key, fast to
generate); the kubeconfig carries it as ``certificate-authority-data`` so the
clients verify the server instead of skipping verification.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
import tempfile
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

__all__ = ["TLSIdentity", "alt_names", "key_pem", "key_usage", "self_signed_identity"]


@dataclass(frozen=True)
class TLSIdentity:
    """A certificate and its private key, PEM encoded.

    Attributes:
        certificate_pem: the self-signed certificate (also the CA clients trust).
        key_pem: the unencrypted private key.
    """

    certificate_pem: bytes
    key_pem: bytes

    def server_context(self) -> ssl.SSLContext:
        """An SSL context serving this identity (TLS 1.2 or newer).

        Returns:
            The server-side context.
        """
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        # load_cert_chain only reads files: write both to a private temporary directory.
        with tempfile.TemporaryDirectory(prefix="emulator-tls-") as folder:
            cert_path = os.path.join(folder, "tls.crt")
            key_path = os.path.join(folder, "tls.key")
            with open(cert_path, "wb") as handle:
                handle.write(self.certificate_pem)
            with open(os.open(key_path, os.O_WRONLY | os.O_CREAT, 0o600), "wb") as handle:
                handle.write(self.key_pem)
            context.load_cert_chain(cert_path, key_path)
        return context


def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    """The private key as unencrypted PKCS#8 PEM.

    Args:
        key: the key.

    Returns:
        The PEM bytes.
    """
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def key_usage(*, cert_sign: bool, crl_sign: bool) -> x509.KeyUsage:
    """A digital-signature key usage, signing certificates and CRLs or not.

    Args:
        cert_sign: the key signs certificates (a CA, or a self-signed server).
        crl_sign: the key signs revocation lists (a CA).

    Returns:
        The extension.
    """
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=crl_sign,
        encipher_only=False,
        decipher_only=False,
    )


def alt_names(hosts: tuple[str, ...]) -> x509.SubjectAlternativeName:
    """The subjectAltName of ``hosts``: IP addresses as IPs, the rest as DNS names.

    Args:
        hosts: IP addresses and DNS names.

    Returns:
        The extension.
    """
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return x509.SubjectAlternativeName(names)


def self_signed_identity(
    hosts: tuple[str, ...] = ("127.0.0.1", "::1", "localhost"), *, days: int = 30
) -> TLSIdentity:
    """Make a self-signed certificate valid for the given hosts.

    Args:
        hosts: IP addresses and DNS names put in the subjectAltName.
        days: validity in days.

    Returns:
        The identity.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubernetes-emulator")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(alt_names(hosts), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(key_usage(cert_sign=True, crl_sign=False), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    return TLSIdentity(certificate.public_bytes(serialization.Encoding.PEM), key_pem(key))
