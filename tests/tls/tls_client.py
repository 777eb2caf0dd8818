"""A TLS client for the Caddy tests: Python's ssl (verifying against Caddy's root) and openssl s_client
for the SNI values Python will not send (upper case, an IP address, a trailing dot)."""

from __future__ import annotations

import hashlib
import json
import re
import socket
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509


@dataclass(frozen=True)
class TlsResponse:
    sans: tuple[str, ...]
    fingerprint: str  # sha256 of the leaf certificate (DER)
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)


def https_get(
    port: int, sni: str | None, cafile: Path, *, host: str | None = None, path: str = "/", headers: dict[str, str] | None = None
) -> TlsResponse:
    """Handshake with ``sni`` (verified against ``cafile``), then GET ``path`` with ``Host: host or sni``."""
    context = ssl.create_default_context(cafile=str(cafile))
    if sni is None:
        context.check_hostname = False
    with socket.create_connection(("127.0.0.1", port), timeout=15) as raw:
        with context.wrap_socket(raw, server_hostname=sni) as tls:
            der = tls.getpeercert(binary_form=True)
            host = (host or sni or "").encode("idna").decode("ascii")  # what a browser sends for an IDN
            extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
            request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}Connection: close\r\n\r\n"
            tls.sendall(request.encode("ascii"))
            data = b""
            while chunk := tls.recv(65536):
                data += chunk
    certificate = x509.load_der_x509_certificate(der)
    return TlsResponse(sans=subject_alt_names(certificate), fingerprint=hashlib.sha256(der).hexdigest(), **parse_http(data))


def subject_alt_names(certificate: x509.Certificate) -> tuple[str, ...]:
    extension = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    return tuple(extension.value.get_values_for_type(x509.DNSName))


def parse_http(data: bytes) -> dict:
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding") == "chunked":
        body = _dechunk(body)
    return {"status": status, "headers": headers, "body": body}


def _dechunk(body: bytes) -> bytes:
    out = b""
    while body:
        size_line, _, rest = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += rest[:size]
        body = rest[size + 2 :]
    return out


@dataclass(frozen=True)
class RawHandshake:
    ok: bool
    sans: tuple[str, ...]
    output: str


def openssl_handshake(port: int, sni: str | None, cafile: Path) -> RawHandshake:
    """A handshake that sends ``sni`` byte for byte (or none), verified against ``cafile``."""
    command = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-CAfile", str(cafile), "-verify_return_error"]
    command += ["-servername", sni] if sni is not None else ["-noservername"]
    completed = subprocess.run(command, input=b"", capture_output=True, timeout=30)
    output = completed.stdout.decode(errors="replace") + completed.stderr.decode(errors="replace")
    match = re.search(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", output, re.S)
    sans = subject_alt_names(x509.load_pem_x509_certificate(match.group(0).encode())) if match else ()
    ok = completed.returncode == 0 and "Verify return code: 0 (ok)" in output and match is not None
    return RawHandshake(ok, sans, output)
