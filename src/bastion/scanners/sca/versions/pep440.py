"""PEP 440 versions and PEP 503 names for PyPI, through ``packaging`` (PyPA's own library).

>>> parse_pep440("1.0rc1") < parse_pep440("1.0") < parse_pep440("1.0.post1")
True
>>> normalize_pypi_name("Zope.Interface")
'zope-interface'
"""

from __future__ import annotations

import re

from packaging.version import InvalidVersion, Version

from bastion.scanners.sca.errors import InvalidVersionError

__all__ = ["normalize_pypi_name", "parse_pep440"]

_SEPARATORS = re.compile(r"[-_.]+")


def parse_pep440(text: str) -> Version:
    """Parse a PEP 440 version; non-PEP 440 strings (``0.7.10p1``) raise."""
    try:
        return Version(text)
    except InvalidVersion:
        raise InvalidVersionError("PyPI", text) from None


def normalize_pypi_name(name: str) -> str:
    """PEP 503 normalisation: lower case, runs of ``-_.`` become one ``-``."""
    return _SEPARATORS.sub("-", name).lower()
