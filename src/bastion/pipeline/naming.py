"""A job's name as a file name, for the logs and files the engine keeps per job.

A name written in the file (``JOB_NAME``: letters, digits, ``_``, ``-``, ``.``) is already a
safe file name and is kept as it is, so existing log paths do not move. An expanded matrix
job's name (``test (3.11, debian)``) has spaces, parentheses and values chosen by the
pipeline's author; it becomes a slug of the safe characters plus a digest of the full name,
so two names can never share a file and no name can climb out of its directory.

>>> job_file_name("test")
'test'
>>> job_file_name("test (3.11, debian)")
'test-3.11-debian-f4b442df60db'
"""

from __future__ import annotations

import hashlib
import re

from bastion.pipeline.schema import JOB_NAME

__all__ = ["job_file_name"]

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
_MAX_SLUG = 80  # with the digest and a suffix such as ".egress.jsonl", far below 255 bytes


def job_file_name(name: str) -> str:
    """``name`` itself when it is a plain job name, else a slug with a digest of ``name``."""
    if JOB_NAME.fullmatch(name):
        return name
    slug = _UNSAFE.sub("-", name).strip("-.")[:_MAX_SLUG] or "job"
    return f"{slug}-{hashlib.sha256(name.encode()).hexdigest()[:12]}"
