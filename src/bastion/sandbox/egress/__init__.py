"""Egress of a sandboxed job: the host-side proxy, its allow-list and its records.

    >>> from bastion.sandbox.egress import AllowList, EgressProxy
    >>> records = []
    >>> proxy = EgressProxy(AllowList.parse(["pypi.org", "*.pythonhosted.org"]),
    ...                     records.append, job="build")
    >>> proxy.start(run_dir / "build.egress.sock")
    >>> try:
    ...     sandbox.run(spec_with_network_proxy(run_dir / "build.egress.sock"), ...)
    ... finally:
    ...     proxy.stop()

The sandbox binds the socket at ``/run/bastion/egress.sock`` and runs
:mod:`bastion.sandbox.forwarder`, so ``HTTP(S)_PROXY=http://127.0.0.1:3128`` inside the job
reaches this proxy.
"""

from __future__ import annotations

from bastion.sandbox.egress.addresses import IPAddress, is_public
from bastion.sandbox.egress.allowlist import (
    DEFAULT_PORTS,
    AllowEntry,
    AllowList,
    AllowListError,
    EgressPolicy,
    EntryKind,
    Verdict,
)
from bastion.sandbox.egress.learning import LearningRecorder, render_allow_list
from bastion.sandbox.egress.proxy import EgressProxy
from bastion.sandbox.egress.record import EgressLog, EgressRecord
from bastion.sandbox.egress.resolver import Resolver, StaticResolver, SystemResolver

__all__ = [
    "DEFAULT_PORTS",
    "AllowEntry",
    "AllowList",
    "AllowListError",
    "EgressLog",
    "EgressPolicy",
    "EgressProxy",
    "EgressRecord",
    "EntryKind",
    "IPAddress",
    "LearningRecorder",
    "Resolver",
    "StaticResolver",
    "SystemResolver",
    "Verdict",
    "is_public",
    "render_allow_list",
]
