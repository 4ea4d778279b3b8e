"""Synthetic credentials for every rule: a true positive and a near miss, made on demand.

Tests, the benchmark's recall check and the planted example all use these. Bodies are random
(seeded for reproducibility) with the real prefixes, lengths and checksums, so they exercise
every validator without ever being a live credential. Templates mark generated parts with
``<<kind:arg>>``; see :data:`_GENERATORS` for the kinds.
"""

from __future__ import annotations

import base64
import json
import random
import re
import string
import textwrap
from collections.abc import Callable

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from bastion.scanners.secrets.samples_saas import SAAS_SAMPLES, VENDOR_SAMPLES
from bastion.scanners.secrets.validators import base62_crc32

__all__ = ["SAMPLES", "render"]

_B62 = string.ascii_letters + string.digits
_CHARSETS = {
    "b62": _B62,
    "hex": "0123456789abcdef",
    "HEX": "0123456789ABCDEF",
    "b32u": string.ascii_uppercase + "234567",
    "b32l": string.ascii_lowercase + "234567",
    "b64": _B62 + "+/",
    "b64u": _B62 + "_-",
    "dig": string.digits,
    "low": string.ascii_lowercase,
    "up": string.ascii_uppercase,
    "alpha": string.ascii_letters,
    "lowdig": string.ascii_lowercase + string.digits,
    "updig": string.ascii_uppercase + string.digits,
    "BECH": "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L",
}
_FAKE = re.compile(r"(?i)example|xxxx|0000|1234|abcdef|dummy|fake|sample|todo|insert|test|your")


def _chars(rng: random.Random, charset: str, count: int) -> str:
    while True:
        text = "".join(rng.choice(charset) for _ in range(count))
        if not _FAKE.search(text):  # a random body must not look like a fixture by chance
            return text


def _github(rng: random.Random, prefix: str, bad: bool = False) -> str:
    body = _chars(rng, _B62, 30)
    checksum = base62_crc32(body.encode()).decode()
    if bad:
        checksum = checksum[:-1] + ("A" if checksum[-1] != "A" else "B")
    return prefix + body + checksum


def _b64(raw: bytes, *, url: bool = False) -> str:
    return (base64.urlsafe_b64encode(raw) if url else base64.b64encode(raw)).decode()


def _jwt(rng: random.Random) -> str:
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode(), url=True).rstrip("=")
    claims = {"sub": _chars(rng, string.digits, 8), "iat": 1700000000 + rng.randrange(10**6)}
    payload = _b64(json.dumps(claims).encode(), url=True).rstrip("=")
    return f"{header}.{payload}.{_chars(rng, _CHARSETS['b64u'], 43)}"


def _pypi(rng: random.Random) -> str:
    ident = _chars(rng, string.hexdigits.lower()[:16], 32).encode()
    raw = b"\x02\x01\x08pypi.org\x02\x20" + ident + b"\x00\x02\x06" + rng.randbytes(40)
    return "pypi-" + _b64(raw, url=True).rstrip("=")


def _discord(rng: random.Random) -> str:
    snowflake = str(rng.randrange(10**17, 10**18)).encode()
    first = _b64(snowflake, url=True).rstrip("=")
    return f"{first}.{_chars(rng, _B62, 6)}.{_chars(rng, _B62, 38)}"


def _pem(kind: str) -> str:
    # Real keys in the real encodings, made now: the PEM validator decodes their DER.
    fmt, enc = serialization.PrivateFormat, serialization.Encoding
    key: PrivateKeyTypes
    if kind == "rsa":
        key = rsa.generate_private_key(65537, 1024)  # noqa: S505 - a throwaway sample
        form = fmt.TraditionalOpenSSL
    elif kind == "dsa":
        key = dsa.generate_private_key(1024)  # noqa: S505 - a throwaway sample
        form = fmt.TraditionalOpenSSL
    elif kind == "ec":
        key, form = ec.generate_private_key(ec.SECP256R1()), fmt.TraditionalOpenSSL
    elif kind == "openssh":
        key, form = ed25519.Ed25519PrivateKey.generate(), fmt.OpenSSH
    else:
        key, form = ed25519.Ed25519PrivateKey.generate(), fmt.PKCS8
    algorithm: serialization.KeySerializationEncryption = serialization.NoEncryption()
    if kind == "encrypted":
        algorithm = serialization.BestAvailableEncryption(b"not-the-secret")
    return key.private_bytes(enc.PEM, form, algorithm).decode().strip()


def _pkcs8_json(_rng: random.Random) -> str:
    body = _pem("pkcs8").split("\n")[1:-1]
    return "".join(line + "\\n" for line in body)


def _pgp(rng: random.Random) -> str:
    # An old-format secret-key packet header (tag 5) and a random body: the armour's shape.
    packet = b"\x95\x01\xd8\x04" + rng.randbytes(300)
    lines = textwrap.wrap(_b64(packet), 64)
    return "\n".join(
        [
            "-----BEGIN PGP PRIVATE KEY BLOCK-----",
            "",
            *lines,
            "=" + _chars(rng, _B62, 4),
            "-----END PGP PRIVATE KEY BLOCK-----",
        ]
    )


def _putty(rng: random.Random) -> str:
    public = textwrap.wrap(_b64(rng.randbytes(51)), 64)
    private = textwrap.wrap(_b64(rng.randbytes(48)), 64)
    return "\n".join(
        [
            "PuTTY-User-Key-File-3: ssh-ed25519",
            "Encryption: none",
            "Comment: deploy",
            f"Public-Lines: {len(public)}",
            *public,
            f"Private-Lines: {len(private)}",
            *private,
            "Private-MAC: " + _chars(rng, "0123456789abcdef", 64),
        ]
    )


def _docker_auth(rng: random.Random) -> str:
    return _b64(f"deploy:{_chars(rng, _B62, 20)}".encode())


def _jwt_base64(rng: random.Random) -> str:
    return _b64(_jwt(rng).encode())


_GENERATORS: dict[str, Callable[[random.Random, str], str]] = {
    "gh": _github,
    "jwtb64": lambda rng, _arg: _jwt_base64(rng),
    "ghbad": lambda rng, arg: _github(rng, arg, bad=True),
    "jwt": lambda rng, _arg: _jwt(rng),
    "pypi": lambda rng, _arg: _pypi(rng),
    "discord": lambda rng, _arg: _discord(rng),
    "dockerauth": lambda rng, _arg: _docker_auth(rng),
    "b64raw": lambda rng, arg: _b64(rng.randbytes(int(arg))),
    "pem": lambda _rng, arg: _pem(arg),
    "pkcs8json": lambda rng, _arg: _pkcs8_json(rng),
    "pgp": lambda rng, _arg: _pgp(rng),
    "putty": lambda rng, _arg: _putty(rng),
    "uuid": lambda rng, _arg: "-".join(
        _chars(rng, "0123456789abcdef", n) for n in (8, 4, 4, 4, 12)
    ),
}


def render(template: str, rng: random.Random) -> str:
    """Fill every ``<<kind:arg>>`` in ``template`` with freshly generated text."""

    def fill(match: re.Match[str]) -> str:
        kind, _, arg = match.group(1).partition(":")
        if kind in _CHARSETS:
            return _chars(rng, _CHARSETS[kind], int(arg))
        return _GENERATORS[kind](rng, arg)

    return re.sub(r"<<([A-Za-z0-9]+(?::[^>]*)?)>>", fill, template)


def _prefixed(prefix: str, body: str, bad_body: str | None = None) -> tuple[str, str]:
    """A positive ``token = "<prefix><body>"`` line and a near miss (short body)."""
    return (f'token = "{prefix}{body}"', f'token = "{prefix}{bad_body or "<<b62:6>>"}"')


# rule id -> (true positive line, near-miss line); both are rendered with :func:`render`.
SAMPLES: dict[str, tuple[str, str]] = {
    "aws-access-key-id": ("key_id = AKIA<<b32u:16>>", "key_id = AKIB<<b32u:16>>"),
    "aws-secret-access-key": (
        'aws_secret_access_key = "<<b64:40>>"',
        'aws_secret_access_key = "<<b64:30>>"',
    ),
    "aws-session-token": ("AWS_SESSION_TOKEN=<<b64:300>>", "AWS_SESSION_TOKEN=<<b64:20>>"),
    "aws-mws-key": _prefixed("amzn.mws.", "<<uuid>>", "<<hex:8>>"),
    "gcp-service-account": (
        '"private_key": "-----BEGIN PRIVATE KEY-----\\n<<pkcs8json>>-----END PRIVATE KEY-----\\n"',
        '"private_key": "-----BEGIN PRIVATE KEY-----\\nnot a key\\n-----END PRIVATE KEY-----\\n"',
    ),
    "gcp-api-key": _prefixed("AIza", "<<b64u:35>>", "<<b64u:20>>"),
    "gcp-oauth-client-secret": _prefixed("GOCSPX-", "<<b64u:28>>"),
    "gcp-oauth-access-token": _prefixed("ya29.", "<<b64u:120>>"),
    "azure-storage-connection-string": (
        "DefaultEndpointsProtocol=https;AccountName=acme<<lowdig:6>>;AccountKey=<<b64raw:64>>;"
        "EndpointSuffix=core.windows.net",
        "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=<<b64raw:32>>;",
    ),
    "azure-cosmosdb-connection-string": (
        "AccountEndpoint=https://acme<<lowdig:6>>.documents.azure.com:443/;"
        "AccountKey=<<b64raw:64>>;",
        "AccountEndpoint=https://acme.documents.azure.com:443/;AccountKey=<<b64raw:16>>;",
    ),
    "azure-storage-key": (
        'azure_storage_key = "<<b64raw:64>>"',
        'azure_storage_key = "<<b64raw:48>>"',
    ),
    "azure-sas-token": (
        "url = https://acme.blob.core.windows.net/c?sv=2022-11-02&ss=b&srt=co&sp=rl"
        "&se=2030-01-01T00:00:00Z&sig=<<b62:43>>%3D",
        "url = https://acme.blob.core.windows.net/c?sv=2022-11-02&sig=short",
    ),
    "azure-ad-client-secret": (
        'client_secret = "<<b62:3>>8Q~<<b62:34>>"',
        'client_secret = "<<b62:3>>8Q~<<b62:10>>"',
    ),
    "azure-devops-pat": ('AZURE_DEVOPS_PAT = "<<b32l:52>>"', 'AZURE_DEVOPS_PAT = "<<b32l:30>>"'),
    "digitalocean-pat": _prefixed("dop_v1_", "<<hex:64>>"),
    "digitalocean-oauth-token": _prefixed("doo_v1_", "<<hex:64>>"),
    "digitalocean-refresh-token": _prefixed("dor_v1_", "<<hex:64>>"),
    "alibaba-access-key-id": _prefixed("LTAI", "<<b62:20>>"),
    "heroku-api-key": ('HEROKU_API_KEY = "<<uuid>>"', 'HEROKU_APP_NAME = "<<uuid>>"'),
    "heroku-api-key-v2": _prefixed("HRKU-AA", "<<b64u:58>>"),
    "cloudflare-api-token": (
        'CLOUDFLARE_API_TOKEN = "<<b64u:40>>"',
        'CLOUDFLARE_ZONE = "<<b64u:40>>"',
    ),
    "cloudflare-origin-ca-key": _prefixed(
        "v1.0-", "<<hex:24>>-<<hex:146>>", "<<hex:24>>-<<hex:20>>"
    ),
    "flyio-token": _prefixed("fo1_", "<<b64u:43>>"),
    "vault-service-token": _prefixed("hvs.", "<<b64u:95>>"),
    "vault-batch-token": _prefixed("hvb.", "<<b64u:150>>"),
    "terraform-cloud-token": _prefixed("<<b62:14>>.atlasv1.", "<<b64u:67>>"),
    "doppler-token": _prefixed("dp.pt.", "<<b62:43>>"),
    "pulumi-token": _prefixed("pul-", "<<hex:40>>"),
    "databricks-token": _prefixed("dapi", "<<hex:32>>"),
    "scalingo-token": _prefixed("tk-us-", "<<b64u:48>>"),
    "newrelic-user-key": _prefixed("NRAK-", "<<updig:27>>"),
    "newrelic-browser-key": _prefixed("NRJS-", "<<hex:19>>"),
    "sentry-org-token": _prefixed("sntrys_", "<<b64:120>>"),
    "sentry-user-token": _prefixed("sntryu_", "<<hex:64>>"),
    "grafana-cloud-token": _prefixed("glc_", "<<b64:80>>"),
    "grafana-service-account-token": _prefixed("glsa_", "<<b62:32>>_<<hex:8>>"),
    "dynatrace-token": _prefixed("dt0c01.", "<<updig:24>>.<<updig:64>>"),
    "age-secret-key": _prefixed("AGE-SECRET-KEY-1", "<<BECH:58>>", "<<BECH:20>>"),
    "github-pat": _prefixed("", "<<gh:ghp_>>", "<<ghbad:ghp_>>"),
    "github-oauth": _prefixed("", "<<gh:gho_>>", "<<ghbad:gho_>>"),
    "github-user-to-server": _prefixed("", "<<gh:ghu_>>", "<<ghbad:ghu_>>"),
    "github-server-to-server": _prefixed("", "<<gh:ghs_>>", "<<ghbad:ghs_>>"),
    "github-refresh": _prefixed("", "<<gh:ghr_>>", "<<ghbad:ghr_>>"),
    "github-fine-grained-pat": _prefixed("github_pat_", "<<b62:22>>_<<b62:59>>"),
    "gitlab-pat": _prefixed("glpat-", "<<b64u:20>>"),
    "gitlab-deploy-token": _prefixed("gldt-", "<<b64u:20>>"),
    "gitlab-pipeline-trigger-token": _prefixed("glptt-", "<<hex:40>>"),
    "gitlab-runner-token": _prefixed("glrt-", "<<b64u:20>>"),
    "gitlab-runner-registration-token": _prefixed("GR1348941", "<<b64u:20>>"),
    "gitlab-feature-flag-token": _prefixed("glffct-", "<<b64u:20>>"),
    "gitlab-oauth-secret": _prefixed("gloas-", "<<b64u:64>>"),
    "bitbucket-app-password": _prefixed("ATBB", "<<b62:32>>"),
    "bitbucket-client-secret": (
        'BITBUCKET_CLIENT_SECRET = "<<b62:32>>"',
        'BITBUCKET_CLIENT_ID = "<<b62:32>>"',
    ),
    "atlassian-api-token": _prefixed("ATATT3", "<<b64u:186>>"),
    "npm-access-token": _prefixed("", "<<gh:npm_>>", "<<ghbad:npm_>>"),
    "npmrc-auth-token": (
        "//registry.npmjs.org/:_authToken=<<b64u:36>>",
        "//registry.npmjs.org/:_authToken=${NPM_TOKEN}",
    ),
    "pypi-upload-token": _prefixed("", "<<pypi>>", "pypi-AgEIcHlwaS5vcmc<<b64u:60>>"),
    "rubygems-api-key": _prefixed("rubygems_", "<<hex:48>>"),
    "dockerhub-pat": _prefixed("dckr_pat_", "<<b64u:27>>"),
    "dockerhub-oat": _prefixed("dckr_oat_", "<<b64u:32>>"),
    "docker-config-auth": ('"auth": "<<dockerauth>>"', '"auth": "<<b64:24>>"'),
    "clojars-token": _prefixed("CLOJARS_", "<<lowdig:60>>"),
    "nuget-api-key": _prefixed("oy2", "<<lowdig:43>>"),
    "artifactory-api-key": _prefixed("AKCp", "<<b62:69>>"),
    "sonarqube-token": _prefixed("squ_", "<<hex:40>>"),
    "postman-api-key": _prefixed("PMAK-", "<<hex:24>>-<<hex:34>>"),
    "linear-api-key": _prefixed("lin_api_", "<<b62:40>>"),
    "figma-token": _prefixed("figd_", "<<b64u:40>>"),
    "notion-token": _prefixed("ntn_", "<<dig:11>><<b62:35>>"),
    "airtable-pat": _prefixed("pat", "<<b62:14>>.<<hex:64>>"),
    "openai-api-key": _prefixed("sk-proj-", "<<b64u:74>>T3BlbkFJ<<b64u:74>>", "<<b64u:40>>"),
    "anthropic-api-key": _prefixed("sk-ant-api03-", "<<b64u:93>>AA"),
    "huggingface-token": _prefixed("hf_", "<<alpha:34>>"),
    "shopify-access-token": _prefixed("shpat_", "<<hex:32>>"),
    "shopify-custom-app-token": _prefixed("shpca_", "<<hex:32>>"),
    "shopify-private-app-token": _prefixed("shppa_", "<<hex:32>>"),
    "shopify-shared-secret": _prefixed("shpss_", "<<hex:32>>"),
    "prefect-api-key": _prefixed("pnu_", "<<b62:36>>"),
    "planetscale-token": _prefixed("pscale_tkn_", "<<b64u:43>>"),
    "planetscale-password": _prefixed("pscale_pw_", "<<b64u:43>>"),
    "hubspot-private-app-token": _prefixed("pat-na1-", "<<uuid>>"),
    "easypost-api-key": _prefixed("EZAK", "<<b62:54>>"),
    "mapbox-secret-token": _prefixed("sk.eyJ", "<<b64u:60>>.<<b64u:22>>"),
    "okta-api-token": ('OKTA_API_TOKEN = "00<<b64u:40>>"', 'OKTA_ORG_URL = "00<<b64u:40>>"'),
    "slack-bot-token": _prefixed("xoxb-", "<<dig:12>>-<<dig:13>>-<<b62:24>>"),
    "slack-user-token": _prefixed("xoxp-", "<<dig:12>>-<<dig:12>>-<<dig:13>>-<<hex:32>>"),
    "slack-app-token": _prefixed("xapp-", "1-A<<updig:10>>-<<dig:13>>-<<hex:64>>"),
    "slack-config-token": _prefixed("xoxe.xoxp-", "1-<<updig:150>>"),
    "slack-legacy-token": _prefixed("xoxa-", "<<dig:11>>-<<dig:12>>-<<b62:32>>"),
    "slack-webhook-url": (
        "url = https://hooks.slack.com/services/T<<updig:10>>/B<<updig:10>>/<<b62:24>>",
        "url = https://hooks.slack.com/services/T<<updig:10>>/B<<updig:10>>/",
    ),
    "discord-bot-token": _prefixed("", "<<discord>>", "<<b62:24>>.<<b62:6>>.<<b62:38>>"),
    "discord-webhook-url": (
        "url = https://discord.com/api/webhooks/<<dig:18>>/<<b64u:68>>",
        "url = https://discord.com/api/webhooks/<<dig:18>>/<<b64u:20>>",
    ),
    "telegram-bot-token": _prefixed("<<dig:10>>:AA", "<<b64u:33>>"),
    "twilio-api-key": _prefixed("SK", "<<hex:32>>"),
    "twilio-auth-token": ('TWILIO_AUTH_TOKEN = "<<hex:32>>"', 'TWILIO_AUTH_TOKEN = "<<hex:20>>"'),
    "sendgrid-api-key": _prefixed("SG.", "<<b64u:22>>.<<b64u:43>>"),
    "mailgun-api-key": _prefixed("key-", "<<hex:32>>"),
    "mailchimp-api-key": _prefixed("", "<<hex:32>>-us14", "<<hex:20>>-us14"),
    "postmark-server-token": ('POSTMARK_SERVER_TOKEN = "<<uuid>>"', 'POSTMARK_SENDER = "<<uuid>>"'),
    "stripe-secret-key": _prefixed("sk_live_", "<<b62:99>>"),
    "stripe-restricted-key": _prefixed("rk_live_", "<<b62:99>>"),
    "stripe-test-secret-key": _prefixed("sk_test_", "<<b62:99>>"),
    "stripe-webhook-secret": _prefixed("whsec_", "<<b62:32>>"),
    "square-access-token": _prefixed("EAAA", "<<b64u:60>>"),
    "square-oauth-token": _prefixed("sq0atp-", "<<b64u:22>>"),
    "square-oauth-secret": _prefixed("sq0csp-", "<<b64u:43>>"),
    "paypal-braintree-token": _prefixed(
        "access_token$production$", "<<lowdig:16>>$<<hex:32>>", "<<lowdig:16>>"
    ),
    "paypal-client-secret": (
        'PAYPAL_CLIENT_SECRET = "E<<b64u:79>>"',
        'PAYPAL_CLIENT_ID = "E<<b64u:79>>"',
    ),
    "razorpay-live-key": _prefixed("rzp_live_", "<<b62:14>>"),
    "flutterwave-secret-key": _prefixed("FLWSECK-", "<<hex:32>>-X"),
    "private-key-rsa": (
        "<<pem:rsa>>",
        "-----BEGIN RSA PRIVATE KEY-----\nnot a key\n-----END RSA PRIVATE KEY-----",
    ),
    "private-key-dsa": (
        "<<pem:dsa>>",
        "-----BEGIN DSA PRIVATE KEY-----\n<<b64:80>>\n-----END DSA PRIVATE KEY-----",
    ),
    "private-key-ec": (
        "<<pem:ec>>",
        "-----BEGIN EC PRIVATE KEY-----\n<<b64:8>>\n-----END EC PRIVATE KEY-----",
    ),
    "private-key-pkcs8": (
        "<<pem:pkcs8>>",
        "-----BEGIN PRIVATE KEY-----\n\n-----END PRIVATE KEY-----",
    ),
    "private-key-pkcs8-encrypted": (
        "<<pem:encrypted>>",
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\n-----END ENCRYPTED PRIVATE KEY-----",
    ),
    "private-key-openssh": (
        "<<pem:openssh>>",
        "-----BEGIN OPENSSH PRIVATE KEY-----\n<<b64raw:120>>\n-----END OPENSSH PRIVATE KEY-----",
    ),
    "private-key-pgp": (
        "<<pgp>>",
        "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n-----END PGP PRIVATE KEY BLOCK-----",
    ),
    "private-key-putty": ("<<putty>>", "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\n"),
    "jwt": ('auth = "<<jwt>>"', 'auth = "eyJ<<b64u:20>>.eyJ<<b64u:20>>.<<b64u:20>>"'),
    "database-url-password": (
        'DATABASE_URL = "postgresql://app:<<b62:8>>7<<b62:7>>@db.internal:5432/app"',
        'DATABASE_URL = "postgresql://app@db.internal:5432/app"',
    ),
    "jdbc-url-password": (
        "url = jdbc:mysql://db.internal:3306/app?user=app&password=<<b62:8>>7<<b62:7>>",
        "url = jdbc:mysql://db.internal:3306/app?user=app",
    ),
    "connection-string-password": (
        'conn = "Server=tcp:db.internal,1433;Database=app;User Id=app;'
        'Password=<<b62:8>>7<<b62:7>>;"',
        'conn = "Server=tcp:db.internal,1433;Database=app;Integrated Security=true;"',
    ),
    "url-basic-auth": (
        "mirror = https://deploy:<<b62:8>>7<<b62:7>>@artifacts.internal/simple",
        "mirror = https://deploy@artifacts.internal/simple",
    ),
    "authorization-header": (
        'headers = {"Authorization": "Bearer <<b64u:40>>"}',
        'headers = {"Authorization": "Bearer " + token}',
    ),
    "netrc-password": (
        "machine api.internal login deploy password <<b62:8>>7<<b62:7>>",
        "machine api.internal login deploy",
    ),
    "generic-password": ('db_password = "<<b62:8>>7<<b62:7>>"', 'db_password = "${DB_PASSWORD}"'),
    "generic-password-unquoted": (
        "DB_PASSWORD=<<b62:8>>7<<b62:7>>",
        "DB_PASSWORD=$DB_PASSWORD_FROM_VAULT",
    ),
    "generic-secret": ('api_secret = "<<b62:24>>7<<b62:7>>"', 'api_secret = "{{ api_secret }}"'),
    "generic-secret-unquoted": ("API_TOKEN=<<b62:24>>7<<b62:7>>", "API_TOKEN=${API_TOKEN}"),
    **SAAS_SAMPLES,
    **VENDOR_SAMPLES,
}
