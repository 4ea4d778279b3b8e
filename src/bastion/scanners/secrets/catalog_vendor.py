"""Rules for vendor credentials that are plain random text: the vendor's name is the context.

An Algolia admin key is 32 hex characters, a Twitch token 30 lowercase ones: shapes that a
commit hash or a cache key share. What makes them credentials is the name they are assigned
to (``ALGOLIA_ADMIN_KEY = "..."``), so each rule here demands the vendor's name in the key,
a value of exactly the documented alphabet and length, and an entropy floor. Client IDs and
other identifiers that vendors publish beside their secrets are deliberately absent (see
:data:`~bastion.scanners.secrets.coverage.NOT_COVERED`).
"""

from __future__ import annotations

from bastion.scanners.finding import Severity
from bastion.scanners.secrets.rule import Rule
from bastion.scanners.secrets.shapes import assigned

__all__ = ["VENDOR_RULES"]

_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"

# rule id, title, key-name context (regex), value (regex), prefilter keywords
_TABLE: tuple[tuple[str, str, str, str, tuple[str, ...]], ...] = (
    ("adafruit-api-key", "Adafruit IO key", "adafruit", r"[A-Za-z0-9_\-]{32}", ("adafruit",)),
    ("airtable-api-key", "Airtable API key (legacy)", "airtable", "key[A-Za-z0-9]{14}", ()),
    ("algolia-api-key", "Algolia API key", "algolia", "[a-f0-9]{32}", ()),
    ("alibaba-secret-key", "Alibaba Cloud AccessKey secret", "alibaba", "[A-Za-z0-9]{30}", ()),
    ("asana-client-secret", "Asana OAuth client secret", "asana", "[A-Za-z0-9]{32}", ()),
    (
        "atlassian-api-token-legacy",
        "Atlassian / Jira / Confluence API token (legacy)",
        "(?:atlassian|confluence|jira)",
        "[A-Za-z0-9]{24}",
        ("atlassian", "confluence", "jira"),
    ),
    ("beamer-api-token", "Beamer API token", "beamer", r"b_[A-Za-z0-9=_\-]{44}", ()),
    ("bittrex-api-key", "Bittrex API key or secret", "bittrex", "[A-Za-z0-9]{32}", ()),
    ("cisco-meraki-api-key", "Cisco Meraki API key", "meraki", "[0-9a-f]{40}", ()),
    ("cloudflare-global-api-key", "Cloudflare global API key", "cloudflare", "[a-f0-9]{37}", ()),
    ("codecov-token", "Codecov upload token", "codecov", f"(?:{_UUID}|[a-f0-9]{{32}})", ()),
    (
        "cohere-api-key",
        "Cohere API key",
        "(?:cohere|co_api_key)",
        "[A-Za-z0-9]{40}",
        ("cohere", "co_api_key"),
    ),
    ("coinbase-access-token", "Coinbase access token", "coinbase", r"[A-Za-z0-9_\-]{64}", ()),
    ("confluent-api-key", "Confluent Cloud API key", "confluent", "[A-Z0-9]{16}", ()),
    ("confluent-api-secret", "Confluent Cloud API secret", "confluent", "[A-Za-z0-9+/]{64}", ()),
    (
        "contentful-delivery-token",
        "Contentful delivery API token",
        "contentful",
        r"[A-Za-z0-9=_\-]{43}",
        (),
    ),
    (
        "datadog-api-key",
        "Datadog API or application key",
        "(?:datadog|dd_api|dd_app)",
        "[a-f0-9]{32}(?:[a-f0-9]{8})?",
        ("datadog", "dd_api", "dd_app"),
    ),
    ("discord-api-key", "Discord application key", "discord", "[a-f0-9]{64}", ()),
    ("discord-client-secret", "Discord OAuth client secret", "discord", r"[A-Za-z0-9_\-]{32}", ()),
    ("droneci-access-token", "Drone CI access token", "drone", "[A-Za-z0-9]{32}", ()),
    (
        "dropbox-token",
        "Dropbox access token",
        "dropbox",
        r"(?:sl\.[A-Za-z0-9_=\-]{130,1400}|[A-Za-z0-9]{11}AAAAAAAAAA[A-Za-z0-9_=\-]{43})",
        (),
    ),
    ("dropbox-app-secret", "Dropbox app secret", "dropbox", "[a-z0-9]{15}", ()),
    ("etsy-api-key", "Etsy API key", "etsy", "[a-z0-9]{24}", ()),
    (
        "facebook-app-secret",
        "Facebook / Meta app secret",
        "(?:facebook|fb_app|meta_app)",
        "[a-f0-9]{32}",
        ("facebook", "fb_app", "meta_app"),
    ),
    (
        "facebook-app-access-token",
        "Facebook app access token (app id | secret)",
        "(?:facebook|fb_)",
        r"[0-9]{15,16}(?:\||%7C)[A-Za-z0-9_\-]{27,40}",
        ("facebook", "fb_"),
    ),
    ("fastly-api-token", "Fastly API token", "fastly", r"[A-Za-z0-9_\-]{32}", ()),
    ("finicity-api-token", "Finicity app key", "finicity", "[a-f0-9]{32}", ()),
    ("finicity-client-secret", "Finicity partner secret", "finicity", "[A-Za-z0-9]{20}", ()),
    ("finnhub-api-key", "Finnhub API key", "finnhub", "[a-z0-9]{20}", ()),
    ("flickr-api-key", "Flickr API key or secret", "flickr", "[a-f0-9]{32}", ()),
    ("freshbooks-token", "FreshBooks access token", "freshbooks", "[A-Za-z0-9]{64}", ()),
    ("gitter-access-token", "Gitter access token", "gitter", r"[A-Za-z0-9_\-]{40}", ()),
    (
        "gocardless-api-token",
        "GoCardless access token",
        "gocardless",
        r"(?:live|sandbox)_[A-Za-z0-9_=\-]{40}",
        (),
    ),
    ("hubspot-api-key", "HubSpot API key (legacy)", "hubspot", _UUID, ()),
    ("intercom-access-token", "Intercom access token", "intercom", r"[A-Za-z0-9=_\-]{60}", ()),
    (
        "jfrog-api-key",
        "JFrog API key or identity token",
        "(?:jfrog|artifactory|bintray|xray)",
        "[A-Za-z0-9]{64}(?:[A-Za-z0-9]{9})?",
        ("jfrog", "artifactory", "bintray", "xray"),
    ),
    ("kraken-api-key", "Kraken API key or secret", "kraken", r"[A-Za-z0-9/=_+\-]{80,90}", ()),
    ("kucoin-api-key", "KuCoin API key", "kucoin", "[a-f0-9]{24}", ()),
    ("kucoin-api-secret", "KuCoin API secret", "kucoin", _UUID, ()),
    (
        "launchdarkly-key",
        "LaunchDarkly API or SDK key",
        "launchdarkly",
        f"(?:(?:api|sdk|mob)-{_UUID}|[A-Za-z0-9_=\\-]{{40}})",
        (),
    ),
    ("linear-client-secret", "Linear OAuth client secret", "linear", "[a-f0-9]{32}", ()),
    (
        "linkedin-client-secret",
        "LinkedIn OAuth client secret",
        "linked[_\\-]?in",
        "[A-Za-z0-9]{16}",
        ("linkedin", "linked_in", "linked-in"),
    ),
    ("lob-api-key", "Lob secret API key", "lob", "(?:live|test)_[a-f0-9]{35}", ("lob",)),
    ("looker-client-secret", "Looker API client secret", "looker", "[A-Za-z0-9]{24}", ()),
    (
        "mailgun-signing-key",
        "Mailgun webhook signing key",
        "mailgun",
        "[a-f0-9]{32}-[a-f0-9]{8}-[a-f0-9]{8}",
        (),
    ),
    ("mattermost-token", "Mattermost access token", "mattermost", "[a-z0-9]{26}", ()),
    (
        "messagebird-api-key",
        "MessageBird API key",
        "message[_\\-]?bird",
        "[A-Za-z0-9]{25}",
        ("messagebird", "message_bird", "message-bird"),
    ),
    ("netlify-access-token", "Netlify access token", "netlify", r"[A-Za-z0-9_=\-]{40,46}", ()),
    (
        "newrelic-license-key",
        "New Relic license or user key",
        "new[_\\-]?relic",
        "[a-f0-9]{36}(?:NRAL|[a-f0-9]{4})(?:[a-f0-9]{24})?",
        ("newrelic", "new_relic", "new-relic"),
    ),
    (
        "nytimes-api-key",
        "New York Times API key",
        "(?:nytimes|new[_\\-]?york[_\\-]?times)",
        r"[A-Za-z0-9=_\-]{32}",
        ("nytimes", "newyorktimes", "new_york_times", "new-york-times"),
    ),
    ("plaid-secret", "Plaid API secret", "plaid", "[a-f0-9]{30}", ()),
    (
        "privateai-api-key",
        "Private AI API key",
        "private[_\\-]?ai",
        "[a-z0-9]{32}",
        ("privateai", "private_ai", "private-ai"),
    ),
    ("rapidapi-key", "RapidAPI key", "rapidapi", r"[A-Za-z0-9_\-]{50}", ()),
    ("sendbird-api-token", "Sendbird API token", "sendbird", "[a-f0-9]{40}", ()),
    ("sentry-auth-token-legacy", "Sentry auth token (legacy)", "sentry", "[a-f0-9]{64}", ()),
    (
        "sidekiq-secret",
        "Sidekiq Pro/Enterprise gem credentials",
        "bundle_(?:enterprise|gems)__contribsys__com",
        "[a-f0-9]{8}:[a-f0-9]{8}",
        ("__contribsys__com",),
    ),
    ("snyk-api-token", "Snyk API token", "snyk", _UUID, ()),
    ("sonar-token-legacy", "SonarQube token (legacy)", "sonar", "[a-f0-9]{40}", ()),
    ("squarespace-api-key", "Squarespace API key", "squarespace", _UUID, ()),
    ("sumologic-access-key", "Sumo Logic access key", "sumo", "[A-Za-z0-9]{64}", ()),
    ("travisci-token", "Travis CI access token", "travis", "[A-Za-z0-9_\\-]{22}", ()),
    ("twitch-api-token", "Twitch API token", "twitch", "[a-z0-9]{30}", ()),
    (
        "twitter-access-token",
        "Twitter / X access token",
        "twitter",
        "[0-9]{15,25}-[A-Za-z0-9]{20,40}",
        (),
    ),
    ("twitter-api-key", "Twitter / X API (consumer) key", "twitter", "[A-Za-z0-9]{25}", ()),
    (
        "twitter-api-secret",
        "Twitter / X API or access-token secret",
        "twitter",
        "[A-Za-z0-9]{45}(?:[A-Za-z0-9]{5})?",
        (),
    ),
    ("vault-legacy-token", "HashiCorp Vault token (legacy)", "vault", r"s\.[A-Za-z0-9]{24}", ()),
    (
        "yandex-access-token",
        "Yandex OAuth / IAM token",
        "yandex",
        r"(?:t1\.[A-Za-z0-9_\-]+=*\.[A-Za-z0-9_\-]{86}=*|YC[A-Za-z0-9_\-]{38})",
        (),
    ),
    ("zendesk-api-token", "Zendesk API token", "zendesk", "[A-Za-z0-9]{40}", ()),
)


def _rule(rule_id: str, title: str, context: str, value: str, keywords: tuple[str, ...]) -> Rule:
    # The value may not run on into more token characters: a 40-char rule must not report
    # the first 40 of a 64-char hash assigned to the same name.
    return assigned(
        rule_id,
        title,
        Severity.HIGH,
        context,
        value,
        keywords=keywords or (context,),
        entropy=3.0,
    )


VENDOR_RULES: tuple[Rule, ...] = tuple(_rule(*row) for row in _TABLE)
