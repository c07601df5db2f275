"""TLS material for the HTTPS / WSS ports: a user's certificate, or a local CA and its leaf.

Streaming clients need TLS: amazon-transcribe negotiates HTTP/2 only through TLS ALPN, and the
JS SDK's WebSocket handler forces `wss:` (digest §5.7, FIELD_NOTES). Without a user-supplied
certificate the emulator makes, once, under `<data-dir>/tls/`:

* `ca.pem` (+ `ca-key.pem`): a local certificate authority ("Transcribe Emulator Local CA",
  10 years). Clients trust it: `SSL_CERT_FILE=<data-dir>/tls/ca.pem` (Python/awscrt),
  `NODE_EXTRA_CA_CERTS=...` (Node), `verify=...` (botocore).
* `server.pem` (leaf followed by the CA certificate) + `server-key.pem`: the server's
  certificate for localhost, 127.0.0.1, ::1, this machine's hostname and any extra names
  given; remade when a name is missing, or within 30 days of expiry.

Keys are ECDSA P-256, files 0600 for keys. Uses the `cryptography` package.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_NAME = "Transcribe Emulator Local CA"
CA_DAYS = 3650
LEAF_DAYS = 825
RENEW_BEFORE = dt.timedelta(days=30)


@dataclass(frozen=True)
class TlsFiles:
    """certfile/keyfile for the server; ca_file for clients (None with a user's certificate)."""

    certfile: Path
    keyfile: Path
    ca_file: Path | None


def prepare_tls(
    data_dir: Path,
    cert_file: Path | None = None,
    key_file: Path | None = None,
    extra_names: tuple[str, ...] = (),
) -> TlsFiles:
    """The user's cert/key when both are given (checked to exist), else the local CA's leaf,
    made or renewed as needed. Raises ValueError for a half-given or missing pair."""
    if cert_file or key_file:
        if not (cert_file and key_file):
            raise ValueError("give both a TLS certificate file and its key file, or neither")
        for path in (cert_file, key_file):
            if not Path(path).is_file():
                raise ValueError(f"TLS file not found: {path}")
        return TlsFiles(Path(cert_file), Path(key_file), None)
    folder = Path(data_dir) / "tls"
    folder.mkdir(parents=True, exist_ok=True)
    ca_cert, ca_key = _load_or_make_ca(folder)
    names = _names(extra_names)
    server_pem, server_key = folder / "server.pem", folder / "server-key.pem"
    if not _leaf_is_good(server_pem, server_key, ca_cert, names):
        leaf, leaf_key = _make_leaf(ca_cert, ca_key, names)
        _write_key(server_key, leaf_key)
        server_pem.write_bytes(
            leaf.public_bytes(serialization.Encoding.PEM) + ca_cert.public_bytes(serialization.Encoding.PEM)
        )
    return TlsFiles(server_pem, server_key, folder / "ca.pem")


def _names(extra: tuple[str, ...]) -> list[str]:
    names = ["localhost", "127.0.0.1", "::1", socket.gethostname(), *extra]
    return [n for n in dict.fromkeys(n.strip() for n in names) if n and n not in ("0.0.0.0", "::")]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _write_key(path: Path, key) -> None:
    data = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _load_or_make_ca(folder: Path):
    cert_path, key_path = folder / "ca.pem", folder / "ca-key.pem"
    if cert_path.is_file() and key_path.is_file():
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        if cert.not_valid_after_utc - RENEW_BEFORE > _now():
            return cert, key
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CA_NAME)])
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_key(key_path, key)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert, key


def _san(names: list[str]) -> x509.SubjectAlternativeName:
    entries: list[x509.GeneralName] = []
    for name in names:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            entries.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(entries)


def _make_leaf(ca_cert, ca_key, names: list[str]):
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=LEAF_DAYS))
        .add_extension(_san(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return cert, key


def _leaf_is_good(cert_path: Path, key_path: Path, ca_cert, names: list[str]) -> bool:
    if not (cert_path.is_file() and key_path.is_file()):
        return False
    try:
        leaf = x509.load_pem_x509_certificate(cert_path.read_bytes())
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, x509.ExtensionNotFound):
        return False
    have = {str(v) for v in san.get_values_for_type(x509.DNSName)}
    have |= {str(v) for v in san.get_values_for_type(x509.IPAddress)}
    wanted = {str(ipaddress.ip_address(n)) if _is_ip(n) else n for n in names}
    try:
        leaf.verify_directly_issued_by(ca_cert)  # a CA made anew invalidates the old leaf
    except (ValueError, TypeError, InvalidSignature):
        return False
    return (
        wanted <= have
        and leaf.not_valid_after_utc - RENEW_BEFORE > _now()
    )


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True
