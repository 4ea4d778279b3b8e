"""Rules for cloud providers and infrastructure platforms."""

from __future__ import annotations

from bastion.scanners.finding import Severity
from bastion.scanners.secrets.rule import Rule, Validator
from bastion.scanners.secrets.shapes import BOUNDARY_AFTER, BOUNDARY_BEFORE, assigned, prefixed

__all__ = ["CLOUD_RULES"]

_C, _H, _M = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_AZURE_KEY = r"[A-Za-z0-9+/]{86}=="

CLOUD_RULES: tuple[Rule, ...] = (
    Rule(
        id="aws-access-key-id",
        title="AWS access key ID",
        severity=_H,
        pattern=(
            f"{BOUNDARY_BEFORE}(?P<secret>(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{{16}})"
            "(?![A-Z2-7])"
        ),
        keywords=("a3t", "akia", "asia", "abia", "acca"),
        entropy=3.0,
    ),
    assigned(
        "aws-secret-access-key",
        "AWS secret access key",
        _C,
        r"aws[A-Za-z0-9_.\-]{0,30}?(?:secret|sk)",
        r"[A-Za-z0-9/+]{40}",
        keywords=("aws",),
        entropy=4.0,
    ),
    assigned(
        "aws-session-token",
        "AWS session token",
        _H,
        r"aws[A-Za-z0-9_.\-]{0,10}?session[A-Za-z0-9_.\-]{0,4}?token",
        r"[A-Za-z0-9/+=]{100,1200}",
        keywords=("aws",),
        entropy=4.5,
    ),
    prefixed("aws-mws-key", "Amazon MWS auth token", _H, r"amzn\.mws\.", _UUID),
    Rule(
        id="gcp-service-account",
        title="GCP service-account private key (JSON key file)",
        severity=_C,
        pattern=(
            r"\"private_key\"\s*:\s*\"(?P<secret>-----BEGIN (?:RSA )?PRIVATE KEY-----\\n"
            r"[A-Za-z0-9+/=\\]{64,8192}?-----END (?:RSA )?PRIVATE KEY-----(?:\\n)?)\""
        ),
        keywords=("private_key",),
        validator=Validator.PEM_JSON,
        # The body's long bounded repeat is costly to compile; the header finds the line.
        prefilter=r"\"private_key\"\s*:\s*\"-----BEGIN (?:RSA )?PRIVATE KEY-----",
    ),
    prefixed("gcp-api-key", "Google API key", _H, "AIza", r"[0-9A-Za-z_\-]{35}"),
    prefixed(
        "gcp-oauth-client-secret",
        "Google OAuth client secret",
        _H,
        "GOCSPX-",
        r"[0-9A-Za-z_\-]{28}",
    ),
    prefixed(
        "gcp-oauth-access-token", "Google OAuth access token", _H, r"ya29\.", r"[0-9A-Za-z_\-]{50,}"
    ),
    Rule(
        id="azure-storage-connection-string",
        title="Azure storage account connection string",
        severity=_C,
        pattern=(
            r"(?i:DefaultEndpointsProtocol=https?;AccountName=[a-z0-9]{3,24};AccountKey=)"
            f"(?P<secret>{_AZURE_KEY})"
        ),
        keywords=("accountkey",),
        validator=Validator.BASE64_64,
    ),
    Rule(
        id="azure-cosmosdb-connection-string",
        title="Azure Cosmos DB connection string",
        severity=_C,
        pattern=(
            r"(?i:AccountEndpoint=https://[a-z0-9\-]{3,44}\.documents\.azure\.com[^;\s]*;"
            f"AccountKey=)(?P<secret>{_AZURE_KEY})"
        ),
        keywords=("accountkey",),
        validator=Validator.BASE64_64,
    ),
    assigned(
        "azure-storage-key",
        "Azure storage account key",
        _C,
        r"(?:azure|storage|account)[A-Za-z0-9_.\-]{0,30}?key",
        _AZURE_KEY,
        keywords=("key",),
        validator=Validator.BASE64_64,
        entropy=4.5,
    ),
    Rule(
        id="azure-sas-token",
        title="Azure shared access signature",
        severity=_H,
        pattern=(
            r"[?&]sv=\d{4}-\d{2}-\d{2}&[^\s\"'<>]{0,300}?sig="
            r"(?P<secret>[A-Za-z0-9%+/]{40,60}(?:%3D|=)?)(?![A-Za-z0-9%])"
        ),
        keywords=("sig=",),
        entropy=4.0,
    ),
    Rule(
        id="azure-ad-client-secret",
        title="Microsoft Entra ID (Azure AD) client secret",
        severity=_H,
        pattern=(
            f"{BOUNDARY_BEFORE}(?P<secret>[A-Za-z0-9_~.\\-]{{3}}\\dQ~[A-Za-z0-9_~.\\-]{{31,34}})"
            r"(?![A-Za-z0-9_~.\-])"
        ),
        keywords=("q~",),
        entropy=3.5,
    ),
    assigned(
        "azure-devops-pat",
        "Azure DevOps personal access token",
        _H,
        r"(?:azure[A-Za-z0-9_.\-]{0,10}?devops|ado|vsts)[A-Za-z0-9_.\-]{0,20}?(?:pat|token)",
        r"[a-z2-7]{52}",
        keywords=("ado", "devops", "vsts"),
        entropy=4.0,
    ),
    prefixed(
        "digitalocean-pat", "DigitalOcean personal access token", _H, "dop_v1_", "[a-f0-9]{64}"
    ),
    prefixed("digitalocean-oauth-token", "DigitalOcean OAuth token", _H, "doo_v1_", "[a-f0-9]{64}"),
    prefixed(
        "digitalocean-refresh-token", "DigitalOcean refresh token", _H, "dor_v1_", "[a-f0-9]{64}"
    ),
    prefixed(
        "alibaba-access-key-id",
        "Alibaba Cloud access key ID",
        _H,
        "LTAI",
        "[A-Za-z0-9]{20}",
        entropy=3.5,
    ),
    assigned(
        "heroku-api-key",
        "Heroku API key",
        _H,
        r"heroku[A-Za-z0-9_.\-]{0,20}?(?:key|token)",
        _UUID,
        keywords=("heroku",),
    ),
    prefixed("heroku-api-key-v2", "Heroku API key (HRKU)", _H, "HRKU-AA", r"[0-9A-Za-z_\-]{58}"),
    assigned(
        "cloudflare-api-token",
        "Cloudflare API token",
        _H,
        r"(?:cloudflare|cf)[A-Za-z0-9_.\-]{0,20}?(?:token|key)",
        r"[A-Za-z0-9_\-]{40}",
        keywords=("cloudflare", "cf"),
        entropy=4.0,
    ),
    prefixed(
        "cloudflare-origin-ca-key",
        "Cloudflare Origin CA key",
        _H,
        r"v1\.0-",
        "[a-f0-9]{24}-[a-f0-9]{146}",
        keywords=("v1.0-",),
    ),
    prefixed("flyio-token", "Fly.io access token", _H, "fo1_", r"[A-Za-z0-9_\-]{43}"),
    prefixed(
        "vault-service-token",
        "HashiCorp Vault service token",
        _C,
        r"hvs\.",
        r"[A-Za-z0-9_\-]{90,120}",
    ),
    prefixed(
        "vault-batch-token", "HashiCorp Vault batch token", _H, r"hvb\.", r"[A-Za-z0-9_\-]{138,300}"
    ),
    Rule(
        id="terraform-cloud-token",
        title="Terraform Cloud / HCP API token",
        severity=_H,
        pattern=(
            f"{BOUNDARY_BEFORE}(?P<secret>[A-Za-z0-9]{{14}}\\.atlasv1\\.[A-Za-z0-9_=\\-]{{60,70}})"
            f"{BOUNDARY_AFTER}"
        ),
        keywords=(".atlasv1.",),
    ),
    prefixed("doppler-token", "Doppler personal token", _H, r"dp\.pt\.", "[A-Za-z0-9]{43}"),
    prefixed("pulumi-token", "Pulumi access token", _H, "pul-", "[a-f0-9]{40}"),
    prefixed(
        "databricks-token",
        "Databricks access token",
        _H,
        "dapi",
        r"[a-f0-9]{32}(?:-\d)?",
        entropy=3.0,
    ),
    prefixed("scalingo-token", "Scalingo API token", _H, "tk-us-", r"[A-Za-z0-9_\-]{48}"),
    prefixed("newrelic-user-key", "New Relic user API key", _H, "NRAK-", "[A-Z0-9]{27}"),
    prefixed("newrelic-browser-key", "New Relic browser API key", _M, "NRJS-", "[a-f0-9]{19}"),
    prefixed(
        "sentry-org-token",
        "Sentry organisation auth token",
        _H,
        "sntrys_",
        "[A-Za-z0-9+/=_]{80,300}",
    ),
    prefixed("sentry-user-token", "Sentry user auth token", _H, "sntryu_", "[a-f0-9]{64}"),
    prefixed(
        "grafana-cloud-token",
        "Grafana Cloud API token",
        _H,
        "glc_",
        "[A-Za-z0-9+/]{32,400}={0,2}",
        after="(?![A-Za-z0-9+/=_\\-])",
    ),
    prefixed(
        "grafana-service-account-token",
        "Grafana service-account token",
        _H,
        "glsa_",
        "[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}",
    ),
    prefixed(
        "dynatrace-token", "Dynatrace API token", _H, r"dt0c01\.", r"[A-Z0-9]{24}\.[A-Z0-9]{64}"
    ),
    prefixed(
        "age-secret-key",
        "age encryption secret key",
        _C,
        "AGE-SECRET-KEY-1",
        "[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}",
    ),
    Rule(
        id="kubernetes-secret-data",
        title="Value in a Kubernetes Secret manifest's data",
        severity=_H,
        pattern=(
            r"(?m)^kind:[ \t]*[\"']?Secret[\"']?[ \t]*\r?\n(?:.*\r?\n){0,30}?"
            r"(?:data|stringData):[ \t]*\r?\n(?:[ \t]+.*\r?\n){0,30}?"
            r"[ \t]+[A-Za-z0-9_.\-]+:[ \t]*[\"']?"
            r"(?P<secret>[A-Za-z0-9+/]{12,4096}={0,2})[\"']?[ \t]*$"
        ),
        keywords=("kind:",),
        entropy=3.0,
        generic=True,
        multiline=True,
        window=4096,
        prefilter=r"(?m)^kind:[ \t]*[\"']?Secret",
    ),
)
