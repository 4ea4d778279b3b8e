"""A labelled corpus of realistic files: planted credentials of many kinds, and hard negatives.

The benchmark compares scanners on it and a test holds Bastion's recall and precision to it.
Every credential is generated now (random bodies with the vendors' documented prefixes,
lengths, alphabets and checksums, via :func:`~bastion.scanners.secrets.samples.render`); none
is real and none comes from another scanner's test data. Each positive file plants one
credential in one of seven everyday formats (.env, YAML, JSON, Python, shell, Terraform,
Dockerfile) between lines of ordinary configuration, and records the planted line span.
Hard negatives are what real repositories are full of and a scanner must leave alone: UUIDs,
digests and commit ids, lorem ipsum, the documentation's own example keys, placeholders,
environment references, public keys and certificates' public parts, file paths.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass

from bastion.scanners.secrets.samples import render

__all__ = ["KINDS", "LabelledFile", "build_corpus"]


@dataclass(frozen=True, slots=True)
class LabelledFile:
    """One corpus file; ``lines`` is the 1-based span of its planted secret (None: negative)."""

    path: str
    text: str
    kind: str | None
    lines: tuple[int, int] | None


# kind -> (variable name used in configuration, value template). Multi-line values (PEM
# blocks, whole JSON key files) are planted as they are, not as one assignment.
KINDS: dict[str, tuple[str, str]] = {
    "aws-access-key-id": ("AWS_ACCESS_KEY_ID", "AKIA<<b32u:16>>"),
    "aws-secret-access-key": ("AWS_SECRET_ACCESS_KEY", "<<b64:40>>"),
    "github-pat": ("GITHUB_TOKEN", "<<gh:ghp_>>"),
    "github-fine-grained-pat": ("GH_TOKEN", "github_pat_<<b62:22>>_<<b62:59>>"),
    "github-app-installation": ("GITHUB_APP_TOKEN", "<<gh:ghs_>>"),
    "gitlab-pat": ("GITLAB_TOKEN", "glpat-<<b64u:20>>"),
    "gitlab-runner-token": ("RUNNER_TOKEN", "glrt-<<b64u:20>>"),
    "slack-bot-token": ("SLACK_BOT_TOKEN", "xoxb-<<dig:12>>-<<dig:13>>-<<b62:24>>"),
    "slack-webhook": (
        "SLACK_WEBHOOK_URL",
        "https://hooks.slack.com/services/T<<updig:10>>/B<<updig:10>>/<<b62:24>>",
    ),
    "stripe-live-secret": ("STRIPE_SECRET_KEY", "sk_live_<<b62:99>>"),
    "stripe-restricted": ("STRIPE_RESTRICTED_KEY", "rk_live_<<b62:99>>"),
    "twilio-api-key": ("TWILIO_API_KEY", "SK<<hex:32>>"),
    "sendgrid": ("SENDGRID_API_KEY", "SG.<<b64u:22>>.<<b64u:43>>"),
    "mailgun": ("MAILGUN_API_KEY", "key-<<hex:32>>"),
    "mailchimp": ("MAILCHIMP_API_KEY", "<<hex:32>>-us14"),
    "npm": ("NPM_TOKEN", "<<gh:npm_>>"),
    "pypi": ("PYPI_API_TOKEN", "<<pypi>>"),
    "gcp-api-key": ("GOOGLE_MAPS_API_KEY", "AIza<<b64u:35>>"),
    "gcp-oauth-secret": ("GOOGLE_CLIENT_SECRET", "GOCSPX-<<b64u:28>>"),
    "azure-storage": (
        "AZURE_STORAGE_CONNECTION_STRING",
        "DefaultEndpointsProtocol=https;AccountName=acme<<lowdig:6>>;AccountKey=<<b64raw:64>>;"
        "EndpointSuffix=core.windows.net",
    ),
    "azure-ad-secret": ("AZURE_CLIENT_SECRET", "<<b62:3>>8Q~<<b62:34>>"),
    "digitalocean": ("DIGITALOCEAN_TOKEN", "dop_v1_<<hex:64>>"),
    "openai": ("OPENAI_API_KEY", "sk-proj-<<b64u:74>>T3BlbkFJ<<b64u:74>>"),
    "anthropic": ("ANTHROPIC_API_KEY", "sk-ant-api03-<<b64u:93>>AA"),
    "huggingface": ("HF_TOKEN", "hf_<<alpha:34>>"),
    "shopify": ("SHOPIFY_ACCESS_TOKEN", "shpat_<<hex:32>>"),
    "square": ("SQUARE_ACCESS_TOKEN", "EAAA<<b64u:60>>"),
    "databricks": ("DATABRICKS_TOKEN", "dapi<<hex:32>>"),
    "doppler": ("DOPPLER_TOKEN", "dp.pt.<<b62:43>>"),
    "pulumi": ("PULUMI_ACCESS_TOKEN", "pul-<<hex:40>>"),
    "vault": ("VAULT_TOKEN", "hvs.<<b64u:95>>"),
    "terraform-cloud": ("TFE_TOKEN", "<<b62:14>>.atlasv1.<<b64u:67>>"),
    "newrelic": ("NEW_RELIC_API_KEY", "NRAK-<<updig:27>>"),
    "sentry": ("SENTRY_AUTH_TOKEN", "sntryu_<<hex:64>>"),
    "grafana": ("GRAFANA_SA_TOKEN", "glsa_<<b62:32>>_<<hex:8>>"),
    "age": ("SOPS_AGE_KEY", "AGE-SECRET-KEY-1<<BECH:58>>"),
    "dockerhub": ("DOCKERHUB_TOKEN", "dckr_pat_<<b64u:27>>"),
    "rubygems": ("GEM_HOST_API_KEY", "rubygems_<<hex:48>>"),
    "sonarqube": ("SONAR_TOKEN", "squ_<<hex:40>>"),
    "postman": ("POSTMAN_API_KEY", "PMAK-<<hex:24>>-<<hex:34>>"),
    "linear": ("LINEAR_API_KEY", "lin_api_<<b62:40>>"),
    "notion": ("NOTION_TOKEN", "ntn_<<dig:11>><<b62:35>>"),
    "planetscale": ("PLANETSCALE_PASSWORD", "pscale_pw_<<b64u:43>>"),
    "hubspot": ("HUBSPOT_ACCESS_TOKEN", "pat-na1-<<uuid>>"),
    "telegram": ("TELEGRAM_BOT_TOKEN", "<<dig:10>>:AA<<b64u:33>>"),
    "discord-bot": ("DISCORD_BOT_TOKEN", "<<discord>>"),
    "jwt": ("SESSION_JWT", "<<jwt>>"),
    "perplexity": ("PPLX_API_KEY", "pplx-<<b62:48>>"),
    "sendinblue": ("BREVO_API_KEY", "xkeysib-<<hex:64>>-<<b62:16>>"),
    "shippo": ("SHIPPO_TOKEN", "shippo_live_<<hex:40>>"),
    "typeform": ("TYPEFORM_TOKEN", "tfp_<<b64u:59>>"),
    "readme": ("README_API_KEY", "rdme_<<lowdig:70>>"),
    "infracost": ("INFRACOST_API_KEY", "ico-<<b62:32>>"),
    "sourcegraph": ("SRC_ACCESS_TOKEN", "sgp_<<hex:16>>_<<hex:40>>"),
    "octopus": ("OCTOPUS_API_KEY", "API-<<updig:26>>"),
    "algolia": ("ALGOLIA_ADMIN_KEY", "<<hex:32>>"),
    "datadog": ("DD_API_KEY", "<<hex:32>>"),
    "snyk": ("SNYK_TOKEN", "<<uuid>>"),
    "launchdarkly": ("LAUNCHDARKLY_SDK_KEY", "sdk-<<uuid>>"),
    "twitch": ("TWITCH_CLIENT_SECRET", "<<lowdig:30>>"),
    "zendesk": ("ZENDESK_API_TOKEN", "<<b62:40>>"),
    "contentful": ("CONTENTFUL_ACCESS_TOKEN", "<<b64u:43>>"),
    "netlify": ("NETLIFY_AUTH_TOKEN", "<<b64u:43>>"),
    "confluent": ("CONFLUENT_CLOUD_API_SECRET", "<<b64:64>>"),
    "cloudflare": ("CLOUDFLARE_API_TOKEN", "<<b64u:40>>"),
    "database-url": (
        "DATABASE_URL",
        "postgresql://app:<<b62:10>>7<<b62:9>>@db.prod.internal:5432/orders",
    ),
    "generic-api-key-hex": ("PAYMENTS_API_KEY", "<<hex:32>>"),
    "generic-api-key-b62": ("ANALYTICS_API_KEY", "<<b62:32>>"),
    "generic-secret": ("WEBHOOK_SIGNING_SECRET", "<<b64:44>>"),
    "generic-password": ("SMTP_PASSWORD", "<<b62:8>>7<<b62:7>>"),
    "private-key-rsa": ("", "<<pem:rsa>>"),
    "private-key-ec": ("", "<<pem:ec>>"),
    "private-key-openssh": ("", "<<pem:openssh>>"),
    "gcp-service-account": ("", "<<gcpjson>>"),
}

_FILLER = [
    ("APP_NAME", "orders-service"),
    ("LOG_LEVEL", "info"),
    ("PORT", "8080"),
    ("REGION", "eu-west-1"),
    ("FEATURE_FLAGS", "checkout_v2,fast_search"),
    ("TIMEOUT_SECONDS", "30"),
    ("CACHE_TTL", "600"),
    ("BASE_URL", "https://orders.internal.acme.io"),
]


def _assign(fmt: str, name: str, value: str) -> str:
    """One ``name = value`` line in ``fmt``'s syntax."""
    lower = name.lower()
    return {
        "env": f"{name}={value}",
        "yaml": f'  {lower}: "{value}"',
        "json": f'  "{lower}": "{value}",',
        "py": f'{name} = "{value}"',
        "sh": f'export {name}="{value}"',
        "tf": f'  {lower} = "{value}"',
        "docker": f"ENV {name}={value}",
    }[fmt]


_HEAD = {
    "env": ["# orders-service runtime configuration"],
    "yaml": ["service:", "  replicas: 3"],
    "json": ["{", '  "service": "orders",'],
    "py": ['"""Settings for the orders service."""', "import os", ""],
    "sh": ["#!/bin/sh", "set -eu"],
    "tf": ['resource "acme_service" "orders" {', '  plan = "standard"'],
    "docker": ["FROM python:3.12-slim", "WORKDIR /app"],
}
_TAIL = {
    "env": [],
    "yaml": ["  healthcheck: /healthz"],
    "json": ['  "version": 3', "}"],
    "py": ["DEBUG = os.environ.get('DEBUG') == '1'"],
    "sh": ['exec python -m orders "$@"'],
    "tf": ["}"],
    "docker": ['CMD ["python", "-m", "orders"]'],
}
_NAMES = {
    "env": ".env",
    "yaml": "config.yaml",
    "json": "settings.json",
    "py": "settings.py",
    "sh": "deploy.sh",
    "tf": "main.tf",
    "docker": "Dockerfile",
}


def _config_file(fmt: str, rng: random.Random, planted: list[str]) -> tuple[str, tuple[int, int]]:
    """A config file of ``fmt`` with ``planted`` lines among filler; (text, planted span)."""
    filler = [_assign(fmt, n, v) for n, v in rng.sample(_FILLER, 5)]
    cut = rng.randrange(len(filler) + 1)
    lines = [*_HEAD[fmt], *filler[:cut]]
    start = len(lines) + 1
    lines += planted
    end = len(lines)
    lines += [*filler[cut:], *_TAIL[fmt]]
    return "\n".join(lines) + "\n", (start, end)


def _gcp_json(rng: random.Random) -> str:
    key = render("<<pem:pkcs8>>", rng).replace("\n", "\\n")
    return (
        "{\n"
        '  "type": "service_account",\n'
        f'  "project_id": "acme-{render("<<lowdig:6>>", rng)}",\n'
        f'  "private_key_id": "{render("<<hex:40>>", rng)}",\n'
        f'  "private_key": "{key}\\n",\n'
        '  "client_email": "deployer@acme.iam.gserviceaccount.com"\n'
        "}"
    )


def _positive(kind: str, index: int, rng: random.Random) -> LabelledFile:
    name, template = KINDS[kind]
    folder = f"services/{kind}-{index}"
    if template == "<<gcpjson>>":
        text = _gcp_json(rng) + "\n"
        return LabelledFile(f"{folder}/service-account.json", text, kind, (5, 5))
    value = render(template, rng)
    if not name:  # a private key file, planted whole
        lines = value.splitlines()
        return LabelledFile(f"{folder}/deploy_key", value + "\n", kind, (1, len(lines)))
    fmt = rng.choice(sorted(_NAMES))
    text, span = _config_file(fmt, rng, [_assign(fmt, name, value)])
    return LabelledFile(f"{folder}/{_NAMES[fmt]}", text, kind, span)


def _lorem(rng: random.Random) -> str:
    words = [
        "lorem",
        "ipsum",
        "dolor",
        "sit",
        "amet",
        "consectetur",
        "adipiscing",
        "elit",
        "sed",
        "do",
        "eiusmod",
    ]
    return " ".join(rng.choice(words) for _ in range(14))


def _public_key(rng: random.Random) -> str:
    return "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI" + render("<<b64:43>>", rng) + " ops@acme"


def _digest(rng: random.Random, size: int) -> str:
    return hashlib.sha256(rng.randbytes(16)).hexdigest()[:size]


# Each maker returns (variable name, value) pairs a real repository holds and no secret is.
_NEGATIVES: dict[str, Callable[[random.Random], list[tuple[str, str]]]] = {
    "uuids": lambda r: [
        ("REQUEST_ID", render("<<uuid>>", r)),
        ("TENANT_ID", render("<<uuid>>", r)),
        ("CORRELATION_ID", render("<<uuid>>", r)),
    ],
    "digests": lambda r: [
        ("IMAGE_DIGEST", "sha256:" + _digest(r, 64)),
        ("GIT_COMMIT", _digest(r, 40)),
        ("CHECKSUM_SHA256", _digest(r, 64)),
        ("ETAG", _digest(r, 32)),
    ],
    "lorem": lambda r: [("DESCRIPTION", _lorem(r)), ("TAGLINE", _lorem(r))],
    "doc-examples": lambda _r: [
        ("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        ("STRIPE_SECRET_KEY", "sk_live_xxxxxxxxxxxxxxxxxxxxxxxx"),
    ],
    "placeholders": lambda _r: [
        ("API_KEY", "<your-api-key>"),
        ("CLIENT_SECRET", "${CLIENT_SECRET}"),
        ("DB_PASSWORD", "changeme"),
        ("GITHUB_TOKEN", "{{ github_token }}"),
        ("AUTH_TOKEN", "REPLACE_ME_WITH_TOKEN"),
    ],
    "env-references": lambda _r: [
        ("SECRET_KEY", "$SECRET_KEY"),
        ("API_TOKEN", "%(API_TOKEN)s"),
        ("PASSWORD_FILE", "/run/secrets/db_password"),
    ],
    "paths-and-ids": lambda r: [
        ("TLS_KEY_FILE", "/etc/ssl/private/server.key"),
        ("PRIVATE_KEY_PATH", "~/.ssh/id_ed25519"),
        ("TOKEN_URL", "https://auth.acme.io/oauth2/token"),
        ("SECRET_NAME", "prod/orders/stripe-key"),
        ("API_VERSION", "2023-10-16"),
        ("RELEASE", "v1.24.3-rc.1"),
    ],
    "public-material": lambda r: [
        ("DEPLOY_PUBLIC_KEY", _public_key(r)),
        ("STRIPE_PUBLISHABLE_KEY", "pk_live_" + render("<<b62:24>>", r)),
        ("MAPBOX_PUBLIC_TOKEN", "pk.eyJ" + render("<<b64u:60>>", r)),
    ],
    "code-identifiers": lambda _r: [
        ("TOKEN_TYPE", "refresh_token"),
        ("SECRET_BACKEND", "aws_secrets_manager"),
        ("PASSWORD_HASHER", "django.contrib.auth.hashers.Argon2PasswordHasher"),
        ("API_KEY_HEADER", "X-Api-Key"),
    ],
}


def _negative(kind: str, index: int, rng: random.Random) -> LabelledFile:
    fmt = rng.choice(sorted(_NAMES))
    planted = [_assign(fmt, name, value) for name, value in _NEGATIVES[kind](rng)]
    text, _span = _config_file(fmt, rng, planted)
    return LabelledFile(f"negatives/{kind}-{index}/{_NAMES[fmt]}", text, None, None)


def build_corpus(
    seed: int = 2026, per_kind: int = 2, negatives_per_kind: int = 4
) -> list[LabelledFile]:
    """``per_kind`` positive files for every kind of :data:`KINDS`, and hard negatives."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not key material
    files = [_positive(kind, i, rng) for kind in KINDS for i in range(per_kind)]
    files += [_negative(kind, i, rng) for kind in _NEGATIVES for i in range(negatives_per_kind)]
    return files
