"""Publish the service's zipapp to the stand-in registry, authenticated by PUBLISH_TOKEN.

    python3 ci/publish.py

It publishes exactly what the ``build`` job produced, never a rebuild: ``dist/`` in this
job's workspace holds ``build``'s artifact, which Bastion stored and attested when ``build``
ended and copied in read-only after checking its bytes against the stored digest. Without
it (run outside the pipeline, or ``build`` made nothing) this script refuses to publish.

The "registry" is the directory ``registry/`` of the job's workspace, which the pipeline
declares as the job's artifacts: Bastion stores what lands there by digest, with SBOMs and
provenance, as a package index would keep an upload. A job cannot write outside its
workspace, so this keeps the sandbox's rules intact.

Like a real index, the registry authenticates the upload: it is sent with
HMAC-SHA256(token, sha256 of the file), which the registry checks against its copy of the
token. The token itself is never written or printed; it comes from the vault through the
job's ``secrets:`` (environment variable and ``/run/bastion/PUBLISH_TOKEN``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
import sys
from pathlib import Path

NAME = "inventory-service"
VERSION = "1.0.0"


def _token() -> str:
    token = os.environ.get("PUBLISH_TOKEN", "")
    if not token:
        sys.exit("PUBLISH_TOKEN is not set: declare `secrets: [PUBLISH_TOKEN]` on this job")
    from_file = Path("/run/bastion/PUBLISH_TOKEN")
    if from_file.exists() and from_file.read_text() != token:
        sys.exit("PUBLISH_TOKEN differs between the environment and /run/bastion")
    return token


def main() -> int:
    token = _token()
    built = Path("dist") / f"{NAME}.pyz"
    if not built.is_file():
        sys.exit(f"{built} is missing: this job publishes the artifact of `build` (needs: [build])")
    digest = hashlib.sha256(built.read_bytes()).hexdigest()
    target = Path("registry") / NAME / VERSION
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(built, target / built.name)
    receipt = {
        "name": NAME,
        "version": VERSION,
        "file": built.name,
        "sha256": digest,
        "auth": "hmac-sha256",
        "signature": hmac.new(token.encode(), digest.encode(), hashlib.sha256).hexdigest(),
    }
    (target / "upload.json").write_text(json.dumps(receipt, indent=2) + "\n")
    print(f"uploaded {NAME} {VERSION} ({digest[:16]}...) to registry/{NAME}/{VERSION}/")
    print(f"authenticated with PUBLISH_TOKEN ({len(token)} characters, never shown)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
