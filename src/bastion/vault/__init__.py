"""The built-in secret store, scoped release to jobs, and masking of job output.

>>> from bastion.home import bastion_home
>>> from bastion.trust import Trust
>>> from bastion.vault import Masker, RequestContext, Scope, open_default_vault
>>> vault = open_default_vault(bastion_home(os.environ), os.environ)
>>> context = RequestContext(repo="acme/api", ref="refs/heads/main", environment=None,
...                          trust=Trust.TRUSTED, job="deploy", run="r-42")
>>> values = vault.release(["DEPLOY_TOKEN"], context, on_release=audit.secret_released)
>>> masker = Masker(values.values())
"""

from __future__ import annotations

from bastion.vault import vaultfile
from bastion.vault.identity import (
    DEFAULT_ISSUING,
    IdentityIssuer,
    IdentityRefusedError,
    JobIdentity,
    SigningKey,
)
from bastion.vault.identity_keys import (
    DEFAULT_ROTATION,
    identity_keys_path,
    load_signing_keys,
    open_identity_issuer,
    rotate_identity_keys,
)
from bastion.vault.keys import (
    KEK_ENV,
    KeyProvider,
    LocalKeyProvider,
    default_key_provider,
    write_key_file,
)
from bastion.vault.masking import MASK, Masker
from bastion.vault.patterns import MaskingPatterns, SecretFinder, SecretHit
from bastion.vault.rotation import (
    NEW_KEK_ENV,
    VaultPaths,
    open_default_vault,
    rotate_default_key,
)
from bastion.vault.schedule import (
    OverdueSecret,
    format_age,
    overdue_secrets,
    parse_max_age,
)
from bastion.vault.scope import DEFAULT_TRUST, RequestContext, Scope
from bastion.vault.store import FORMAT_VERSION, ReleaseCallback, SecretInfo, Vault
from bastion.vault.strength import MIN_LENGTH, check_secret_value
from bastion.vault.variants import labelled_variants, secret_variants

__all__ = [
    "DEFAULT_ISSUING",
    "DEFAULT_ROTATION",
    "DEFAULT_TRUST",
    "FORMAT_VERSION",
    "KEK_ENV",
    "MASK",
    "MIN_LENGTH",
    "NEW_KEK_ENV",
    "IdentityIssuer",
    "IdentityRefusedError",
    "JobIdentity",
    "KeyProvider",
    "LocalKeyProvider",
    "Masker",
    "MaskingPatterns",
    "OverdueSecret",
    "ReleaseCallback",
    "RequestContext",
    "Scope",
    "SecretFinder",
    "SecretHit",
    "SecretInfo",
    "SigningKey",
    "Vault",
    "VaultPaths",
    "check_secret_value",
    "default_key_provider",
    "format_age",
    "identity_keys_path",
    "labelled_variants",
    "load_signing_keys",
    "open_default_vault",
    "open_identity_issuer",
    "overdue_secrets",
    "parse_max_age",
    "rotate_default_key",
    "rotate_identity_keys",
    "secret_variants",
    "vaultfile",
    "write_key_file",
]
