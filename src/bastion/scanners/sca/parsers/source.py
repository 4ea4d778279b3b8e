"""Reading a manifest once: size cap, text, and line numbers for parse errors and packages."""

from __future__ import annotations

import bisect
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bastion.scanners.sca.errors import ManifestError

__all__ = ["MAX_MANIFEST_BYTES", "SourceFile"]

MAX_MANIFEST_BYTES = 64 * 1024 * 1024
_TOML_LINE = re.compile(r"at line (\d+)")


@dataclass
class SourceFile:
    """A manifest's text with its repository-relative path (``rel``) for messages."""

    path: Path
    rel: str
    text: str
    _starts: list[int] = field(default_factory=list, repr=False)

    @classmethod
    def read(cls, path: Path, rel: str) -> SourceFile:
        """Read ``path``; a clear :class:`ManifestError` if too large or not UTF-8."""
        try:
            size = path.stat().st_size
            if size > MAX_MANIFEST_BYTES:
                raise ManifestError(
                    f"file is {size} bytes, more than the {MAX_MANIFEST_BYTES} a manifest may be",
                    path=rel,
                )
            text = path.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ManifestError(f"not UTF-8 text ({exc.reason})", path=rel) from exc
        except OSError as exc:
            raise ManifestError(f"cannot read: {exc.strerror}", path=rel) from exc
        return cls(path, rel, text)

    def line_at(self, offset: int) -> int:
        """1-based line of a character offset."""
        if not self._starts:
            self._starts = [0] + [m.end() for m in re.finditer("\n", self.text)]
        return bisect.bisect_right(self._starts, offset)

    def error(
        self, message: str, line: int | None = None, hint: str | None = None
    ) -> ManifestError:
        """A :class:`ManifestError` located in this file."""
        return ManifestError(message, path=self.rel, line=line, hint=hint)

    def json(self) -> Any:
        """Parse as JSON; errors name the line."""
        try:
            return json.loads(self.text)
        except json.JSONDecodeError as exc:
            raise self.error(f"malformed JSON: {exc.msg}", exc.lineno) from exc

    def toml(self) -> dict[str, Any]:
        """Parse as TOML; errors name the line."""
        try:
            return tomllib.loads(self.text)
        except tomllib.TOMLDecodeError as exc:
            found = _TOML_LINE.search(str(exc))
            raise self.error(
                f"malformed TOML: {exc}", int(found.group(1)) if found else None
            ) from exc

    def find_line(self, needle: str, start: int = 0) -> tuple[int | None, int]:
        """Line of the first ``needle`` at or after offset ``start``, and the offset after it."""
        offset = self.text.find(needle, start)
        if offset < 0:
            return None, start
        return self.line_at(offset), offset + len(needle)

    def header_lines(self, header: str) -> list[int]:
        """Lines of each TOML array-of-tables header (``[[package]]``), in file order."""
        return [
            number
            for number, line in enumerate(self.text.splitlines(), start=1)
            if line.strip() == header
        ]
