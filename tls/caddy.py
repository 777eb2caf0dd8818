"""Caddy's admin API over httpx: config check and load, certificate storage, certificate removal.

Why not ``caddy-api-client``: see docs/decisions.md (synchronous, rewrites the
whole config, hard-codes ``srv0``; its delete did nothing). This client never
edits Caddy's config piecemeal: the Caddyfile is the one source of truth and
is (re)loaded whole; everything else is read-only, plus deleting certificate
files from storage.

Errors::

    CaddyAdminError        the admin API answered with an error, or could not be reached
    └── CaddyConfigInvalid the Caddyfile does not adapt (message is Caddy's own)
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from pathlib import Path

import httpx

ADMIN_TIMEOUT = httpx.Timeout(10.0, connect=2.0)


class CaddyAdminError(RuntimeError):
    pass


class CaddyConfigInvalid(CaddyAdminError):
    pass


@dataclass(frozen=True)
class StoredCertificate:
    hostname: str
    issuer_key: str  # the storage folder of the issuer: "local" for the internal CA, the ACME directory otherwise
    files: tuple[Path, ...]


def storage_safe_name(hostname: str) -> str:
    """The folder name Caddy (certmagic's StorageKeys.Safe) gives a certificate's name."""
    name = hostname.strip().lower().replace(" ", "_").replace("*", "wildcard_").replace("..", "")
    return re.sub(r"[^\w@.\-+]", "", name)


class CaddyAdmin:
    def __init__(self, admin_url: str, *, client: httpx.AsyncClient | None = None) -> None:
        self.admin_url = admin_url.rstrip("/")
        self._client = client or httpx.AsyncClient(timeout=ADMIN_TIMEOUT)
        self._owns_client = client is None

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def __aenter__(self) -> "CaddyAdmin":
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.aclose()

    # -- config

    async def config(self) -> dict:
        return await self._get_json("/config/")

    async def check_caddyfile(self, caddyfile: str) -> list[dict]:
        """Adapt without loading: Caddy's warnings, or CaddyConfigInvalid with its error."""
        response = await self._request(
            "POST", "/adapt", content=caddyfile.encode(), headers={"Content-Type": "text/caddyfile"}
        )
        if response.status_code == 400:
            raise CaddyConfigInvalid(_error_text(response))
        _raise_for_status(response)
        return response.json().get("warnings") or []

    async def load_caddyfile(self, caddyfile: str) -> None:
        """Replace the running config (a graceful reload; Caddy rolls back if the new one fails)."""
        response = await self._request(
            "POST", "/load", content=caddyfile.encode(), headers={"Content-Type": "text/caddyfile"}
        )
        if response.status_code == 400:
            raise CaddyConfigInvalid(_error_text(response))
        _raise_for_status(response)

    async def reload_file(self, path: Path) -> None:
        await self.load_caddyfile(Path(path).read_text())

    async def put_config(self, path: str, value: dict) -> None:
        """Set one part of the running config (``apps/http/servers/<name>``: add a server), a graceful reload."""
        response = await self._request("POST", f"/config/{path.strip('/')}", json=value)
        if response.status_code == 400:
            raise CaddyConfigInvalid(_error_text(response))
        _raise_for_status(response)

    # -- storage and certificates

    async def storage_root(self) -> Path:
        """Where the running Caddy keeps certificates (file_system storage only)."""
        storage = await self._get_json("/config/storage")
        if not storage:
            raise CaddyAdminError("Caddy runs with its default storage; set `storage file_system` in the Caddyfile")
        if storage.get("module") != "file_system":
            raise CaddyAdminError(f"Caddy stores certificates in {storage.get('module')!r}, not on the file system")
        return Path(storage["root"])

    async def local_root_certificate(self) -> Path:
        return await self.storage_root() / "pki" / "authorities" / "local" / "root.crt"

    async def stored_certificates(self, hostname: str) -> list[StoredCertificate]:
        root = await self.storage_root()
        return await asyncio.to_thread(_find_certificates, root, hostname)

    async def delete_certificate(self, hostname: str) -> list[Path]:
        """Delete every issuer's certificate files for ``hostname``; returns the files removed.

        Caddy keeps a loaded certificate in memory until it restarts; deleting the
        files stops it coming back after a restart and stops renewals.
        """
        return await asyncio.to_thread(delete_stored_certificate, await self.storage_root(), hostname)

    # -- plumbing

    async def _get_json(self, path: str):
        response = await self._request("GET", path)
        _raise_for_status(response)
        return response.json()

    async def _request(self, method: str, path: str, **kwargs) -> httpx.Response:
        try:
            return await self._client.request(method, f"{self.admin_url}{path}", **kwargs)
        except httpx.TransportError as error:
            raise CaddyAdminError(f"cannot reach Caddy's admin API at {self.admin_url}: {type(error).__name__}") from None


def delete_stored_certificate(storage_root: Path, hostname: str) -> list[Path]:
    """The same deletion straight from a storage directory (Caddy need not run)."""
    removed: list[Path] = []
    for stored in _find_certificates(Path(storage_root), hostname):
        removed += _remove_files(stored.files)
    return removed


def _find_certificates(root: Path, hostname: str) -> list[StoredCertificate]:
    safe = storage_safe_name(hostname)
    found = []
    certificates = root / "certificates"
    if not certificates.is_dir():
        return []
    for issuer_dir in sorted(certificates.iterdir()):
        folder = issuer_dir / safe
        if folder.is_dir():
            files = tuple(sorted(path for path in folder.iterdir() if path.is_file()))
            found.append(StoredCertificate(hostname, issuer_dir.name, files))
    return found


def _remove_files(files: tuple[Path, ...]) -> list[Path]:
    removed = []
    for path in files:
        try:
            path.unlink()
            removed.append(path)
        except FileNotFoundError:
            pass
    folders = {path.parent for path in files}
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:  # not empty (a file Caddy wrote meanwhile) or already gone
            pass
    return removed


def _error_text(response: httpx.Response) -> str:
    try:
        return str(response.json().get("error", response.text)).strip()
    except ValueError:
        return response.text.strip()


def _raise_for_status(response: httpx.Response) -> None:
    if response.status_code >= 400:
        raise CaddyAdminError(f"Caddy admin API {response.request.method} {response.request.url.path}: {response.status_code} {_error_text(response)}")
