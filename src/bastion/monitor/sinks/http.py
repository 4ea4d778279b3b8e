"""The default HTTP poster (the standard library, no redirects followed)."""

from __future__ import annotations

import urllib.error
import urllib.request

__all__ = ["UrllibPoster"]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # a redirect is an answer (3xx), never followed with our signature


class UrllibPoster:
    """POSTs with urllib; a non-2xx answer is returned as its status."""

    def __init__(self) -> None:
        self._opener = urllib.request.build_opener(_NoRedirect())

    def post(self, url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
        """POST ``body``; OSError if nothing answered."""
        if not url.startswith(("https://", "http://")):
            raise OSError(f"not an http(s) URL: {url}")
        request = urllib.request.Request(url, body, headers, method="POST")  # noqa: S310
        try:
            with self._opener.open(request, timeout=timeout) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)
