"""Rules for source forges, package registries and developer services."""

from __future__ import annotations

from bastion.scanners.finding import Severity
from bastion.scanners.secrets.rule import Rule, Validator
from bastion.scanners.secrets.shapes import BOUNDARY_AFTER, BOUNDARY_BEFORE, assigned, prefixed

__all__ = ["DEV_RULES"]

_C, _H, _M = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM
_GH = Validator.GITHUB_CRC32


def _github(kind: str, title: str) -> Rule:
    # 30 random base62 characters then their CRC32 in 6 base62 characters.
    return prefixed(f"github-{kind}", title, _C, f"gh{kind[0]}_", "[A-Za-z0-9]{36}", validator=_GH)


DEV_RULES: tuple[Rule, ...] = (
    Rule(
        id="github-pat",
        title="GitHub personal access token (classic)",
        severity=_C,
        pattern=f"{BOUNDARY_BEFORE}(?P<secret>ghp_[A-Za-z0-9]{{36}}){BOUNDARY_AFTER}",
        keywords=("ghp_",),
        validator=_GH,
    ),
    _github("oauth", "GitHub OAuth access token"),
    _github("user-to-server", "GitHub App user-to-server token"),
    _github("server-to-server", "GitHub App installation token"),
    _github("refresh", "GitHub App refresh token"),
    prefixed(
        "github-fine-grained-pat",
        "GitHub fine-grained personal access token",
        _C,
        "github_pat_",
        "[A-Za-z0-9]{22}_[A-Za-z0-9]{59}",
    ),
    prefixed("gitlab-pat", "GitLab personal access token", _C, "glpat-", r"[A-Za-z0-9_\-]{20}"),
    prefixed("gitlab-deploy-token", "GitLab deploy token", _H, "gldt-", r"[A-Za-z0-9_\-]{20}"),
    prefixed(
        "gitlab-pipeline-trigger-token",
        "GitLab pipeline trigger token",
        _H,
        "glptt-",
        "[a-f0-9]{40}",
    ),
    prefixed(
        "gitlab-runner-token",
        "GitLab runner authentication token",
        _H,
        "glrt-",
        r"[A-Za-z0-9_\-]{20}",
    ),
    prefixed(
        "gitlab-runner-registration-token",
        "GitLab runner registration token",
        _H,
        "GR1348941",
        r"[A-Za-z0-9_\-]{20}",
    ),
    prefixed(
        "gitlab-feature-flag-token",
        "GitLab feature-flag client token",
        _M,
        "glffct-",
        r"[A-Za-z0-9_\-]{20}",
    ),
    prefixed(
        "gitlab-oauth-secret",
        "GitLab OAuth application secret",
        _H,
        "gloas-",
        r"[A-Za-z0-9_\-]{64}",
    ),
    prefixed(
        "bitbucket-app-password",
        "Bitbucket app password",
        _C,
        "ATBB",
        "[A-Za-z0-9]{32}",
        entropy=3.5,
    ),
    assigned(
        "bitbucket-client-secret",
        "Bitbucket OAuth client secret",
        _H,
        r"bitbucket[A-Za-z0-9_.\-]{0,20}?secret",
        r"[A-Za-z0-9_\-]{32,64}",
        keywords=("bitbucket",),
        entropy=3.5,
    ),
    prefixed("atlassian-api-token", "Atlassian API token", _H, "ATATT3", r"[A-Za-z0-9_\-=]{186}"),
    prefixed("npm-access-token", "npm access token", _C, "npm_", "[A-Za-z0-9]{36}", validator=_GH),
    Rule(
        id="npmrc-auth-token",
        title="npm registry auth token in .npmrc",
        severity=_H,
        pattern=(
            r"(?m)^[ \t]*(?:\S*:)?_auth(?:Token)?[ \t]*=[ \t]*[\"']?"
            r"(?P<secret>[A-Za-z0-9_\-.+/=]{20,})"
        ),
        keywords=("_auth",),
        entropy=3.5,
    ),
    Rule(
        id="pypi-upload-token",
        title="PyPI upload token",
        severity=_C,
        pattern=(
            f"{BOUNDARY_BEFORE}(?P<secret>pypi-(?:AgEIcHlwaS5vcmc|AgENdGVzdC5weXBpLm9yZw)"
            f"[A-Za-z0-9_\\-]{{50,}}){BOUNDARY_AFTER}"
        ),
        keywords=("pypi-age",),
        validator=Validator.PYPI_MACAROON,
    ),
    prefixed("rubygems-api-key", "RubyGems API key", _C, "rubygems_", "[a-f0-9]{48}"),
    prefixed(
        "dockerhub-pat", "Docker Hub personal access token", _C, "dckr_pat_", r"[A-Za-z0-9_\-]{27}"
    ),
    prefixed(
        "dockerhub-oat",
        "Docker Hub organisation access token",
        _C,
        "dckr_oat_",
        r"[A-Za-z0-9_\-]{32}",
    ),
    Rule(
        id="docker-config-auth",
        title="Registry credentials in a Docker config.json",
        severity=_H,
        pattern=r"\"auth\"\s*:\s*\"(?P<secret>[A-Za-z0-9+/]{8,}={0,2})\"",
        keywords=('"auth"',),
        validator=Validator.DOCKER_AUTH,
    ),
    prefixed("clojars-token", "Clojars deploy token", _H, "CLOJARS_", "[a-z0-9]{60}"),
    prefixed("nuget-api-key", "NuGet API key", _H, "oy2", "[a-z0-9]{43}", entropy=3.5),
    prefixed("artifactory-api-key", "JFrog Artifactory API key", _H, "AKCp", "[A-Za-z0-9]{69}"),
    prefixed(
        "sonarqube-token",
        "SonarQube token",
        _H,
        "sq[pua]_",
        "[a-f0-9]{40}",
        keywords=("sqp_", "squ_", "sqa_"),
    ),
    prefixed("postman-api-key", "Postman API key", _H, "PMAK-", "[a-f0-9]{24}-[a-f0-9]{34}"),
    prefixed("linear-api-key", "Linear API key", _H, "lin_api_", "[A-Za-z0-9]{40}"),
    prefixed("figma-token", "Figma personal access token", _H, "figd_", r"[A-Za-z0-9_\-]{40}"),
    prefixed("notion-token", "Notion integration token", _H, "ntn_", "[0-9]{11}[A-Za-z0-9]{35}"),
    prefixed(
        "airtable-pat",
        "Airtable personal access token",
        _H,
        "pat",
        r"[A-Za-z0-9]{14}\.[a-f0-9]{64}",
        keywords=("pat",),
    ),
    prefixed(
        "openai-api-key",
        "OpenAI API key",
        _C,
        r"sk-(?:proj-|svcacct-|admin-)?",
        r"[A-Za-z0-9_\-]{20,156}T3BlbkFJ[A-Za-z0-9_\-]{20,156}",
        keywords=("t3blbkfj",),
    ),
    prefixed(
        "anthropic-api-key",
        "Anthropic API key",
        _C,
        r"sk-ant-(?:api03|admin01)-",
        r"[A-Za-z0-9_\-]{93}AA",
        keywords=("sk-ant-",),
    ),
    prefixed(
        "huggingface-token", "Hugging Face access token", _H, "hf_", "[A-Za-z]{34}", entropy=3.5
    ),
    prefixed("shopify-access-token", "Shopify access token", _H, "shpat_", "[a-fA-F0-9]{32}"),
    prefixed(
        "shopify-custom-app-token", "Shopify custom app token", _H, "shpca_", "[a-fA-F0-9]{32}"
    ),
    prefixed(
        "shopify-private-app-token", "Shopify private app token", _H, "shppa_", "[a-fA-F0-9]{32}"
    ),
    prefixed("shopify-shared-secret", "Shopify shared secret", _H, "shpss_", "[a-fA-F0-9]{32}"),
    prefixed("prefect-api-key", "Prefect API key", _H, "pnu_", "[A-Za-z0-9]{36}"),
    prefixed(
        "planetscale-token", "PlanetScale API token", _H, "pscale_tkn_", r"[A-Za-z0-9_\-.]{43}"
    ),
    prefixed(
        "planetscale-password",
        "PlanetScale database password",
        _C,
        "pscale_pw_",
        r"[A-Za-z0-9_\-.]{43}",
    ),
    prefixed(
        "hubspot-private-app-token",
        "HubSpot private app token",
        _H,
        "pat-(?:na|eu)1-",
        "[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}",
        keywords=("pat-na1-", "pat-eu1-"),
    ),
    prefixed("easypost-api-key", "EasyPost production API key", _H, "EZAK", "[a-zA-Z0-9]{54}"),
    prefixed(
        "mapbox-secret-token",
        "Mapbox secret access token",
        _H,
        r"sk\.eyJ",
        r"[A-Za-z0-9_\-]{50,}\.[A-Za-z0-9_\-]{20,}",
        keywords=("sk.eyj",),
    ),
    assigned(
        "okta-api-token",
        "Okta API token",
        _H,
        r"okta[A-Za-z0-9_.\-]{0,20}?(?:token|key)",
        r"00[A-Za-z0-9_\-]{40}",
        keywords=("okta",),
        entropy=4.0,
    ),
)
