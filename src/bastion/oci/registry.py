"""Pushing to a registry over the OCI distribution API: blobs first, manifests by reference.

    >>> ref = Reference.parse("127.0.0.1:5000/team/app:1.0")
    >>> (ref.registry, ref.repository, ref.tag)
    ('127.0.0.1:5000', 'team/app', '1.0')

:class:`RegistryClient` does monolithic blob uploads (``POST`` then ``PUT ?digest=``) and
``PUT``\\ s manifests; it never tags anything by itself: the caller decides the order (a tag is
one manifest ``PUT``, done last, so a failed push leaves nothing tagged). Any answer other
than the one the API specifies raises :class:`~bastion.oci.errors.RegistryError` carrying
the registry's own error codes and messages; transport failures are translated here.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urljoin

import httpx

from bastion.errors import UsageError
from bastion.oci.blobs import check_digest
from bastion.oci.errors import RegistryError

__all__ = ["Reference", "RegistryClient"]

_REPOSITORY = re.compile(
    r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$"
)
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_REGISTRY = re.compile(
    r"^(localhost|[A-Za-z0-9.-]+\.[A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?$"
)


@dataclass(frozen=True, slots=True)
class Reference:
    """``REGISTRY/REPOSITORY:TAG``, checked when parsed (the registry is never implied)."""

    registry: str
    repository: str
    tag: str

    @classmethod
    def parse(cls, text: str) -> Reference:
        """Parse ``text``; :class:`UsageError` when a part is missing or malformed."""
        registry, slash, rest = text.partition("/")
        name, colon, tag = rest.rpartition(":")
        if not slash or not colon or "@" in text:
            raise UsageError(
                f"{text!r} is not REGISTRY/REPOSITORY:TAG",
                hint="name the registry and the tag, e.g. registry.example.com/team/app:1.0",
            )
        host_like = "." in registry or ":" in registry or registry == "localhost"
        if not host_like or not _REGISTRY.match(registry):
            raise UsageError(f"{registry!r} is not a registry host[:port]")
        if not _REPOSITORY.match(name) or len(name) > 255:
            raise UsageError(f"{name!r} is not a repository name (lower case, '/'-separated)")
        if not _TAG.match(tag):
            raise UsageError(f"{tag!r} is not a tag")
        return cls(registry, name, tag)

    def __str__(self) -> str:
        return f"{self.registry}/{self.repository}:{self.tag}"


def _explain(response: httpx.Response, what: str) -> RegistryError:
    """The registry's own words for a refused request, in one error."""
    try:
        errors = json.loads(response.content[:65536]).get("errors") or []
        told = "; ".join(f"{e.get('code', '?')}: {e.get('message', '')}" for e in errors[:5])
    except (ValueError, AttributeError):
        told = ""
    told = told or response.content[:300].decode("utf-8", "replace").strip()
    challenge = response.headers.get("WWW-Authenticate")
    if not told and challenge:  # a HEAD has no body: the challenge is all the registry says
        told = f"WWW-Authenticate: {challenge[:300]}"
    told = told or "(no body)"
    hint = None
    if response.status_code in (401, 403):
        hint = "the registry wants credentials this push does not have; nothing was tagged"
    return RegistryError(
        f"{what}: the registry answered {response.status_code} {response.reason_phrase}: {told}",
        status=response.status_code,
        hint=hint,
    )


class RegistryClient:
    """One registry, over HTTPS (or plain HTTP when asked, for a loopback test registry)."""

    def __init__(
        self,
        registry: str,
        *,
        plain_http: bool = False,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 120.0,
    ) -> None:
        scheme = "http" if plain_http else "https"
        self._client = httpx.Client(
            base_url=f"{scheme}://{registry}",
            transport=transport,
            timeout=timeout,
            follow_redirects=False,
            headers={"User-Agent": "bastion"},
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _send(
        self, method: str, url: str, what: str, expect: tuple[int, ...], **kw: object
    ) -> httpx.Response:
        try:
            response = self._client.request(method, url, **kw)  # type: ignore[arg-type]
        except httpx.HTTPError as exc:
            raise RegistryError(f"{what}: {type(exc).__name__}: {exc}") from exc
        if response.status_code not in expect:
            raise _explain(response, what)
        return response

    def has_blob(self, repository: str, digest: str) -> bool:
        """Whether the repository already holds the blob (a ``HEAD``)."""
        url = f"/v2/{repository}/blobs/{check_digest(digest, 'blob')}"
        response = self._send("HEAD", url, f"HEAD blob {digest}", (200, 404))
        return response.status_code == 200

    def push_blob(
        self, repository: str, digest: str, size: int, content: bytes | Iterable[bytes]
    ) -> None:
        """Upload one blob in a single ``PUT``; the registry checks it against ``digest``."""
        check_digest(digest, "blob")
        what = f"upload blob {digest}"
        started = self._send("POST", f"/v2/{repository}/blobs/uploads/", what, (202,))
        location = started.headers.get("Location")
        if not location:
            raise RegistryError(f"{what}: the registry gave no upload location", status=202)
        url = urljoin(str(self._client.base_url) + "/", location)
        if not url.startswith(str(self._client.base_url)):
            raise RegistryError(f"{what}: upload location {location!r} leaves the registry")
        url += ("&" if "?" in url else "?") + f"digest={digest}"
        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(size)}
        self._send("PUT", url, what, (201,), content=content, headers=headers)

    def put_manifest(self, repository: str, reference: str, media_type: str, data: bytes) -> str:
        """``PUT`` a manifest under a tag or its digest; its digest, as the registry confirms."""
        what = f"PUT manifest {repository}:{reference}"
        response = self._send(
            "PUT",
            f"/v2/{repository}/manifests/{reference}",
            what,
            (201,),
            content=data,
            headers={"Content-Type": media_type},
        )
        expected = "sha256:" + hashlib.sha256(data).hexdigest()
        told = str(response.headers.get("Docker-Content-Digest", expected))
        if told != expected:
            raise RegistryError(f"{what}: the registry stored {told}, not {expected}", status=201)
        return expected
