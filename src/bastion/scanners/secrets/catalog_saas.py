"""Rules for SaaS tokens whose own shape (a registered prefix, a fixed layout) identifies them.

Each one is recognisable without context: the vendor documents a literal prefix (``pplx-``,
``xkeysib-``, ``sgp_``) or an unmistakable layout (a 1Password secret key's dash groups, a
Teams webhook URL). Tokens that are only random text need a vendor name beside them; those
live in :mod:`~bastion.scanners.secrets.catalog_vendor`.
"""

from __future__ import annotations

from bastion.scanners.finding import Severity
from bastion.scanners.secrets.rule import Rule, Validator
from bastion.scanners.secrets.shapes import BOUNDARY_AFTER, BOUNDARY_BEFORE, prefixed

__all__ = ["SAAS_RULES"]

_C, _H, _M = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_UUID_L = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
# Base64 bodies may end in padding, after which a word boundary cannot be asked for.
_B64_END = r"(?![A-Za-z0-9+/=_\-])"

SAAS_RULES: tuple[Rule, ...] = (
    prefixed(
        "onepassword-secret-key",
        "1Password account secret key",
        _C,
        "A3-",
        "[A-Z0-9]{6}-(?:[A-Z0-9]{11}|[A-Z0-9]{6}-[A-Z0-9]{5})-[A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5}",
        entropy=3.5,
    ),
    prefixed(
        "onepassword-service-account-token",
        "1Password service-account token",
        _C,
        "ops_eyJ",
        "[A-Za-z0-9+/]{250,2000}={0,3}",
        after=_B64_END,
        entropy=4.0,
    ),
    prefixed("adobe-client-secret", "Adobe OAuth client secret", _H, "p8e-", "[A-Za-z0-9]{32}"),
    prefixed(
        "artifactory-reference-token",
        "JFrog Artifactory reference token",
        _H,
        "cmVmd",
        "[A-Za-z0-9]{59}",
        entropy=4.5,
    ),
    Rule(
        id="authress-access-key",
        title="Authress service-client access key",
        severity=_H,
        pattern=(
            f"{BOUNDARY_BEFORE}(?P<secret>(?:sc|ext|scauth|authress)_[A-Za-z0-9]{{5,30}}"
            r"\.[A-Za-z0-9]{4,6}\.acc[_\-][A-Za-z0-9\-]{10,32}\.[A-Za-z0-9+/_=\-]{30,120})"
            f"{_B64_END}"
        ),
        keywords=(".acc_", ".acc-"),
        entropy=3.5,
    ),
    prefixed(
        "aws-bedrock-api-key",
        "Amazon Bedrock long-term API key",
        _C,
        "ABSK",
        "[A-Za-z0-9+/]{109,269}={0,2}",
        after=_B64_END,
        entropy=4.0,
    ),
    prefixed(
        "aws-bedrock-short-term-key",
        "Amazon Bedrock short-term API key",
        _H,
        "bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29t",
        "[A-Za-z0-9+/%=]{40,4096}",
        after=r"(?![A-Za-z0-9+/%=])",
    ),
    prefixed(
        "clickhouse-cloud-secret",
        "ClickHouse Cloud API secret key",
        _H,
        "4b1d",
        "[A-Za-z0-9]{38}",
        entropy=4.0,
    ),
    prefixed(
        "defined-networking-token",
        "Defined Networking (Nebula) API token",
        _H,
        "dnkey-",
        r"[A-Za-z0-9=_\-]{26}-[A-Za-z0-9=_\-]{52}",
    ),
    prefixed(
        "duffel-api-token",
        "Duffel API token",
        _H,
        "duffel_(?:test|live)_",
        r"[A-Za-z0-9_\-=]{43}",
        keywords=("duffel_test_", "duffel_live_"),
    ),
    prefixed("easypost-test-api-key", "EasyPost test API key", _M, "EZTK", "[a-zA-Z0-9]{54}"),
    prefixed(
        "facebook-access-token",
        "Facebook / Meta user or page access token",
        _H,
        "EAA[MC]",
        "[A-Za-z0-9]{100,400}",
        keywords=("eaam", "eaac"),
        entropy=4.0,
    ),
    prefixed(
        "flutterwave-encryption-key",
        "Flutterwave encryption key",
        _H,
        "FLWSECK(?:_TEST)?-?",
        "[a-f0-9]{12}",
        keywords=("flwseck",),
        after=r"(?![A-Za-z0-9\-])",
    ),
    prefixed(
        "flyio-macaroon",
        "Fly.io macaroon token",
        _H,
        "fm(?:1[ar]|2)_",
        "[A-Za-z0-9+/]{100,4096}={0,3}",
        keywords=("fm1a_", "fm1r_", "fm2_"),
        after=_B64_END,
        entropy=4.0,
    ),
    prefixed("frameio-api-token", "Frame.io API token", _H, "fio-u-", r"[A-Za-z0-9\-_=]{64}"),
    Rule(
        id="freemius-secret-key",
        title="Freemius secret key (PHP array)",
        severity=_H,
        pattern=r"[\"']secret_key[\"']\s*=>\s*[\"'](?P<secret>sk_[^\s\"']{29})[\"']",
        keywords=("secret_key",),
    ),
    prefixed(
        "gitlab-cicd-job-token",
        "GitLab CI/CD job token",
        _H,
        "glcbt-",
        r"[0-9a-zA-Z]{1,5}_[0-9a-zA-Z_\-]{20}",
    ),
    prefixed("gitlab-feed-token", "GitLab feed token", _M, "glft-", r"[A-Za-z0-9_\-]{20}"),
    prefixed(
        "gitlab-incoming-mail-token",
        "GitLab incoming mail token",
        _M,
        "glimt-",
        r"[A-Za-z0-9_\-]{25}",
    ),
    prefixed(
        "gitlab-kubernetes-agent-token",
        "GitLab Kubernetes agent token",
        _H,
        "glagent-",
        r"[A-Za-z0-9_\-]{50}",
    ),
    prefixed("gitlab-scim-token", "GitLab SCIM token", _H, "glsoat-", r"[A-Za-z0-9_\-]{20}"),
    prefixed(
        "gitlab-session-cookie", "GitLab session cookie", _H, "_gitlab_session=", "[0-9a-z]{32}"
    ),
    prefixed(
        "gitlab-routable-token",
        "GitLab routable personal access or runner token",
        _C,
        r"gl(?:pat-|rt-t\d_)",
        r"[0-9a-zA-Z_\-]{27,300}\.[0-9a-z]{2}[0-9a-z]{7}",
        keywords=("glpat-", "glrt-t"),
        entropy=4.0,
    ),
    prefixed(
        "grafana-api-key",
        "Grafana API key (legacy)",
        _H,
        "eyJrIjoi",
        "[A-Za-z0-9]{70,400}={0,3}",
        after=_B64_END,
        entropy=4.0,
    ),
    Rule(
        id="harness-api-key",
        title="Harness personal or service-account token",
        severity=_H,
        pattern=(
            f"{BOUNDARY_BEFORE}(?P<secret>(?:pat|sat)\\.[A-Za-z0-9_\\-]{{22}}\\.[A-Za-z0-9]{{24}}"
            f"\\.[A-Za-z0-9]{{20}}){BOUNDARY_AFTER}"
        ),
        keywords=("pat.", "sat."),
        entropy=3.5,
    ),
    prefixed(
        "huggingface-org-token",
        "Hugging Face organisation API token",
        _H,
        "api_org_",
        "[A-Za-z]{34}",
        entropy=3.5,
    ),
    prefixed("infracost-api-token", "Infracost API token", _H, "ico-", "[A-Za-z0-9]{32}"),
    prefixed(
        "intra42-client-secret",
        "42 Intra client secret",
        _H,
        "s-s4t2(?:ud|af)-",
        "[a-f0-9]{64}",
        keywords=("s-s4t2ud-", "s-s4t2af-"),
    ),
    Rule(
        id="jwt-base64",
        title="Base64-encoded JSON Web Token",
        severity=_M,
        pattern=f"{BOUNDARY_BEFORE}(?P<secret>ZXlK[A-Za-z0-9+/]{{60,8192}}={{0,2}}){_B64_END}",
        keywords=("zxlk",),
        validator=Validator.JWT_BASE64,
    ),
    prefixed(
        "maxmind-license-key",
        "MaxMind license key",
        _H,
        "",
        "[A-Za-z0-9]{6}_[A-Za-z0-9]{29}_mmk",
        keywords=("_mmk",),
        entropy=4.0,
    ),
    Rule(
        id="microsoft-teams-webhook",
        title="Microsoft Teams incoming webhook URL",
        severity=_H,
        pattern=(
            r"(?P<secret>https://[a-z0-9\-]+\.webhook\.office\.com/webhookb2/"
            f"{_UUID}@{_UUID}/IncomingWebhook/[A-Za-z0-9]{{32}}/{_UUID}"
            r"(?:/[A-Za-z0-9_\-]{20,80})?)(?![A-Za-z0-9_\-])"
        ),
        keywords=("webhook.office.com",),
    ),
    prefixed("newrelic-insert-key", "New Relic insert key", _H, "NRII-", r"[A-Za-z0-9_\-]{32}"),
    Rule(
        id="nuget-config-password",
        title="Clear-text password in a NuGet.config",
        severity=_H,
        pattern=(
            r"(?i:<add\s+key=\"(?:ClearText)?Password\"\s+value=\")"
            r"(?P<secret>[^\"]{8,128})\"\s*/>"
        ),
        keywords=("<add key=",),
        entropy=2.5,
    ),
    prefixed(
        "octopus-deploy-api-key", "Octopus Deploy API key", _H, "API-", "[A-Z0-9]{26}", entropy=3.5
    ),
    prefixed("openshift-user-token", "OpenShift user token", _H, "sha256~", r"[A-Za-z0-9_\-]{43}"),
    prefixed("perplexity-api-key", "Perplexity API key", _H, "pplx-", "[A-Za-z0-9]{48}"),
    prefixed(
        "plaid-access-token",
        "Plaid access token",
        _C,
        "access-(?:sandbox|development|production)-",
        _UUID_L,
        keywords=("access-sandbox-", "access-development-", "access-production-"),
    ),
    prefixed(
        "planetscale-oauth-token",
        "PlanetScale OAuth token",
        _H,
        "pscale_oauth_",
        r"[A-Za-z0-9_=.\-]{32,64}",
    ),
    prefixed("readme-api-token", "ReadMe API token", _H, "rdme_", "[a-z0-9]{70}"),
    prefixed(
        "sendinblue-api-key",
        "Brevo (Sendinblue) API key",
        _H,
        "xkeysib-",
        "[a-f0-9]{64}-[A-Za-z0-9]{16}",
    ),
    prefixed(
        "settlemint-token",
        "SettleMint access token",
        _H,
        "sm_(?:pat|aat|sat)_",
        "[A-Za-z0-9]{16}",
        keywords=("sm_pat_", "sm_aat_", "sm_sat_"),
        entropy=3.0,
    ),
    prefixed(
        "shippo-api-token",
        "Shippo API token",
        _H,
        "shippo_(?:live|test)_",
        "[a-fA-F0-9]{40}",
        keywords=("shippo_live_", "shippo_test_"),
    ),
    Rule(
        id="sidekiq-credentials-url",
        title="Sidekiq Pro/Enterprise credentials in a gem source URL",
        severity=_H,
        pattern=(
            r"(?i:https?://)[a-f0-9]{8}:(?P<secret>[a-f0-9]{8})"
            r"@(?:gems|enterprise)\.contribsys\.com"
        ),
        keywords=("contribsys.com",),
    ),
    prefixed(
        "slack-config-refresh-token",
        "Slack configuration refresh token",
        _H,
        "xoxe-",
        r"\d-[A-Z0-9]{140,160}",
    ),
    prefixed(
        "slack-legacy-bot-token",
        "Slack legacy bot token",
        _H,
        "xoxb-",
        "[0-9]{8,14}-[A-Za-z0-9]{18,26}",
    ),
    prefixed(
        "sourcegraph-access-token",
        "Sourcegraph access token",
        _H,
        "sgp_",
        "(?:[a-fA-F0-9]{16}_|local_)?[a-fA-F0-9]{40}",
    ),
    prefixed("typeform-api-token", "Typeform personal token", _H, "tfp_", r"[A-Za-z0-9_=.\-]{59}"),
    prefixed(
        "yandex-api-key", "Yandex Cloud API key", _H, "AQVN", r"[A-Za-z0-9_\-]{35,38}", entropy=4.0
    ),
    prefixed(
        "twitter-bearer-token",
        "Twitter / X app bearer token",
        _H,
        "A{22}",
        "[A-Za-z0-9%]{80,120}",
        keywords=("a" * 22,),
        entropy=3.5,
    ),
)
