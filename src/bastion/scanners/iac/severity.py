"""Severity, CWE and fix text for Checkov's checks, which Checkov leaves blank offline.

Checkov only fills ``severity`` from its platform, which Bastion never calls. So:

1. a check in :data:`CHECKS` takes the severity, CWE and fix written there;
2. otherwise a check whose name speaks of public exposure, world-open networks, privilege,
   root or missing encryption is **high** (:data:`_HIGH_WORDS`);
3. otherwise **medium**, so an unknown check is never waved through as low.

Operational hygiene (multi-AZ, probes, lifecycle rules) is listed explicitly as **low**.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bastion.scanners.finding import Severity

__all__ = ["CHECKS", "CheckInfo", "check_info"]


@dataclass(frozen=True, slots=True)
class CheckInfo:
    """What Bastion knows about one Checkov check."""

    severity: Severity
    cwe: tuple[str, ...] = ()
    fix: str | None = None


_C, _H, _M, _L = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW
_ACCESS = ("CWE-284",)
_PRIV = ("CWE-250",)
_CRYPT = ("CWE-311",)
_LIMITS = ("CWE-770",)
_SUPPLY = ("CWE-1357",)
_LOGS = ("CWE-778",)

CHECKS: dict[str, CheckInfo] = {
    # Kubernetes
    "CKV_K8S_16": CheckInfo(_C, _PRIV, "Remove `privileged: true` from the securityContext."),
    "CKV_K8S_17": CheckInfo(_H, _PRIV, "Do not share the host PID namespace (hostPID)."),
    "CKV_K8S_18": CheckInfo(_H, _PRIV, "Do not share the host IPC namespace (hostIPC)."),
    "CKV_K8S_19": CheckInfo(_H, _PRIV, "Do not share the host network (hostNetwork)."),
    "CKV_K8S_20": CheckInfo(_H, ("CWE-269",), "Set `allowPrivilegeEscalation: false`."),
    "CKV_K8S_23": CheckInfo(_H, _PRIV, "Set `runAsNonRoot: true` and a non-zero runAsUser."),
    "CKV_K8S_39": CheckInfo(_H, _PRIV, "Drop the SYS_ADMIN capability."),
    "CKV_K8S_28": CheckInfo(_M, _PRIV, "Drop NET_RAW: `capabilities: {drop: [ALL]}`."),
    "CKV_K8S_37": CheckInfo(_M, _PRIV, "Drop all capabilities: `capabilities: {drop: [ALL]}`."),
    "CKV_K8S_40": CheckInfo(_M, _PRIV, "Run as a high UID (runAsUser >= 10000)."),
    "CKV_K8S_11": CheckInfo(_M, _LIMITS, "Set resources.limits.cpu on every container."),
    "CKV_K8S_13": CheckInfo(_M, _LIMITS, "Set resources.limits.memory on every container."),
    "CKV_K8S_14": CheckInfo(_M, _SUPPLY, "Pin the image by version tag or digest, not latest."),
    "CKV_K8S_43": CheckInfo(_L, _SUPPLY, "Pin the image by digest (image@sha256:...)."),
    "CKV_K8S_22": CheckInfo(_M, (), "Set `readOnlyRootFilesystem: true`."),
    "CKV_K8S_8": CheckInfo(_L),
    "CKV_K8S_9": CheckInfo(_L),
    "CKV_K8S_10": CheckInfo(_L, _LIMITS),
    "CKV_K8S_12": CheckInfo(_L, _LIMITS),
    "CKV2_K8S_6": CheckInfo(_L),
    # Dockerfile
    "CKV_DOCKER_1": CheckInfo(_H, _ACCESS, "Do not EXPOSE 22; use `docker exec` to debug."),
    "CKV_DOCKER_3": CheckInfo(_H, _PRIV, "Add a non-root `USER` before CMD/ENTRYPOINT."),
    "CKV_DOCKER_4": CheckInfo(_M, ("CWE-494",), "Use COPY; fetch remote files with a checksum."),
    "CKV_DOCKER_7": CheckInfo(_M, _SUPPLY, "Pin the base image to a version tag or digest."),
    "CKV_DOCKER_2": CheckInfo(_L, (), "Add a HEALTHCHECK instruction."),
    # AWS (Terraform and CloudFormation share the ids)
    "CKV_AWS_24": CheckInfo(_C, _ACCESS, "Restrict SSH (22) ingress to known address ranges."),
    "CKV_AWS_25": CheckInfo(_C, _ACCESS, "Restrict RDP (3389) ingress to known ranges."),
    "CKV_AWS_260": CheckInfo(_H, _ACCESS, "Restrict port 80 ingress; serve through a LB."),
    "CKV_AWS_382": CheckInfo(_M, _ACCESS, "Restrict egress to the destinations needed."),
    "CKV_AWS_20": CheckInfo(_C, _ACCESS, "Remove the public-read ACL from the bucket."),
    "CKV_AWS_57": CheckInfo(_C, _ACCESS, "Remove the public-read-write ACL from the bucket."),
    "CKV_AWS_53": CheckInfo(_H, _ACCESS, "Set block_public_acls = true."),
    "CKV_AWS_54": CheckInfo(_H, _ACCESS, "Set block_public_policy = true."),
    "CKV_AWS_55": CheckInfo(_H, _ACCESS, "Set ignore_public_acls = true."),
    "CKV_AWS_56": CheckInfo(_H, _ACCESS, "Set restrict_public_buckets = true."),
    "CKV2_AWS_6": CheckInfo(_H, _ACCESS, "Attach an aws_s3_bucket_public_access_block."),
    "CKV_AWS_17": CheckInfo(_C, _ACCESS, "Set publicly_accessible = false."),
    "CKV_AWS_16": CheckInfo(_H, _CRYPT, "Set storage_encrypted = true."),
    "CKV_AWS_19": CheckInfo(_H, _CRYPT, "Enable default server-side encryption."),
    "CKV_AWS_145": CheckInfo(_M, _CRYPT, "Encrypt the bucket with a KMS key by default."),
    "CKV_AWS_18": CheckInfo(_M, _LOGS, "Enable S3 access logging."),
    "CKV_AWS_129": CheckInfo(_M, _LOGS, "Export the database logs to CloudWatch."),
    "CKV_AWS_21": CheckInfo(_M, (), "Enable bucket versioning."),
    "CKV_AWS_293": CheckInfo(_L, (), "Set deletion_protection = true."),
    "CKV_AWS_157": CheckInfo(_L),
    "CKV_AWS_353": CheckInfo(_L),
    "CKV_AWS_118": CheckInfo(_L),
    "CKV_AWS_226": CheckInfo(_L),
    "CKV_AWS_161": CheckInfo(_M, ("CWE-287",), "Enable IAM database authentication."),
    "CKV_AWS_144": CheckInfo(_L),
    "CKV2_AWS_5": CheckInfo(_L),
    "CKV2_AWS_30": CheckInfo(_L, _LOGS),
    "CKV2_AWS_60": CheckInfo(_L),
    "CKV2_AWS_61": CheckInfo(_L),
    "CKV2_AWS_62": CheckInfo(_L),
}

_HIGH_WORDS = re.compile(
    r"public|0\.0\.0\.0|::/0|privileged|root|encrypt|admin|wildcard|\*:\*|anonymous",
    re.IGNORECASE,
)


def check_info(check_id: str, check_name: str) -> CheckInfo:
    """Severity, CWE and fix for one check (rules in the module doc)."""
    known = CHECKS.get(check_id)
    if known is not None:
        return known
    severity = Severity.HIGH if _HIGH_WORDS.search(check_name) else Severity.MEDIUM
    return CheckInfo(severity)
