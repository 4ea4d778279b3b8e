"""Synthetic true positives and near misses for the SaaS, vendor-context and newer rules.

Same template language as :mod:`~bastion.scanners.secrets.samples` (``<<kind:arg>>``), kept
apart so that neither module grows past a reviewable size. Vendor-context samples assign the
value to a name carrying the vendor's name, as real configuration does; their near miss is
the same name with a value of the wrong length.
"""

from __future__ import annotations

__all__ = ["SAAS_SAMPLES", "VENDOR_SAMPLES"]

_UUID = "<<uuid>>"


def _token(prefix: str, body: str, bad_body: str = "<<b62:6>>") -> tuple[str, str]:
    return (f'token = "{prefix}{body}"', f'token = "{prefix}{bad_body}"')


def _named(name: str, value: str, bad_value: str) -> tuple[str, str]:
    return (f'{name} = "{value}"', f'{name} = "{bad_value}"')


SAAS_SAMPLES: dict[str, tuple[str, str]] = {
    "onepassword-secret-key": _token(
        "A3-", "<<updig:6>>-<<updig:11>>-<<updig:5>>-<<updig:5>>-<<updig:5>>", "<<updig:6>>"
    ),
    "onepassword-service-account-token": _token("ops_eyJ", "<<b64:300>>", "<<b64:40>>"),
    "adobe-client-secret": _token("p8e-", "<<b62:32>>"),
    "artifactory-reference-token": _token("cmVmd", "<<b62:59>>"),
    "authress-access-key": _token(
        "sc_", "<<lowdig:12>>.<<lowdig:5>>.acc_<<lowdig:20>>.<<b64u:60>>", "<<lowdig:12>>.acc"
    ),
    "aws-bedrock-api-key": _token("ABSK", "<<b64:140>>", "<<b64:30>>"),
    "aws-bedrock-short-term-key": _token(
        "bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29t", "<<b64:200>>", "<<b64:10>>"
    ),
    "clickhouse-cloud-secret": _token("4b1d", "<<b62:38>>"),
    "defined-networking-token": _token("dnkey-", "<<b64u:26>>-<<b64u:52>>"),
    "duffel-api-token": _token("duffel_live_", "<<b64u:43>>"),
    "easypost-test-api-key": _token("EZTK", "<<b62:54>>"),
    "facebook-access-token": _token("EAAC", "<<b62:160>>", "<<b62:40>>"),
    "flutterwave-encryption-key": _token("FLWSECK_TEST", "<<hex:12>>", "<<hex:8>>"),
    "flyio-macaroon": _token("fm2_", "<<b64:200>>", "<<b64:40>>"),
    "frameio-api-token": _token("fio-u-", "<<b64u:64>>"),
    "freemius-secret-key": (
        "'secret_key' => 'sk_<<b62:29>>',",
        "'secret_key' => 'sk_<<b62:12>>',",
    ),
    "gitlab-cicd-job-token": _token("glcbt-", "<<b62:2>>_<<b64u:20>>"),
    "gitlab-feed-token": _token("glft-", "<<b64u:20>>"),
    "gitlab-incoming-mail-token": _token("glimt-", "<<b64u:25>>"),
    "gitlab-kubernetes-agent-token": _token("glagent-", "<<b64u:50>>"),
    "gitlab-scim-token": _token("glsoat-", "<<b64u:20>>"),
    "gitlab-session-cookie": (
        "cookie = _gitlab_session=<<lowdig:32>>",
        "_gitlab_session=<<lowdig:8>>",
    ),
    "gitlab-routable-token": _token(
        "glpat-", "<<b64u:40>>.<<lowdig:2>><<lowdig:7>>", "<<b64u:40>>"
    ),
    "grafana-api-key": _token("eyJrIjoi", "<<b62:100>>", "<<b62:20>>"),
    "harness-api-key": _token("pat.", "<<b64u:22>>.<<b62:24>>.<<b62:20>>", "<<b64u:22>>"),
    "huggingface-org-token": _token("api_org_", "<<alpha:34>>"),
    "infracost-api-token": _token("ico-", "<<b62:32>>"),
    "intra42-client-secret": _token("s-s4t2ud-", "<<hex:64>>"),
    "jwt-base64": ("JWT_B64 = <<jwtb64>>", "JWT_B64 = ZXlK<<b64:80>>"),
    "maxmind-license-key": _token("", "<<b62:6>>_<<b62:29>>_mmk", "<<b62:6>>_mmk"),
    "microsoft-teams-webhook": (
        "url = https://acme.webhook.office.com/webhookb2/<<uuid>>@<<uuid>>/IncomingWebhook/"
        "<<lowdig:32>>/<<uuid>>",
        "url = https://acme.webhook.office.com/webhookb2/<<uuid>>/IncomingWebhook/",
    ),
    "newrelic-insert-key": _token("NRII-", "<<b64u:32>>"),
    "nuget-config-password": (
        '<add key="ClearTextPassword" value="<<b62:8>>7<<b62:7>>" />',
        '<add key="Username" value="<<b62:8>>7<<b62:7>>" />',
    ),
    "octopus-deploy-api-key": _token("API-", "<<updig:26>>"),
    "openshift-user-token": _token("sha256~", "<<b64u:43>>"),
    "perplexity-api-key": _token("pplx-", "<<b62:48>>"),
    "plaid-access-token": _token("access-production-", "<<uuid>>", "<<hex:8>>"),
    "planetscale-oauth-token": _token("pscale_oauth_", "<<b64u:43>>"),
    "readme-api-token": _token("rdme_", "<<lowdig:70>>"),
    "sendinblue-api-key": _token("xkeysib-", "<<hex:64>>-<<b62:16>>"),
    "settlemint-token": _token("sm_pat_", "<<b62:16>>"),
    "shippo-api-token": _token("shippo_live_", "<<hex:40>>"),
    "sidekiq-credentials-url": (
        "source = https://<<hex:8>>:<<hex:8>>@gems.contribsys.com/",
        "source = https://gems.contribsys.com/",
    ),
    "slack-config-refresh-token": _token("xoxe-", "1-<<updig:146>>"),
    "slack-legacy-bot-token": _token("xoxb-", "<<dig:11>>-<<b62:24>>"),
    "sourcegraph-access-token": _token("sgp_", "<<hex:16>>_<<hex:40>>", "<<hex:20>>"),
    "typeform-api-token": _token("tfp_", "<<b64u:59>>"),
    "yandex-api-key": _token("AQVN", "<<b64u:36>>"),
    "twitter-bearer-token": _token("A" * 22, "<<b62:90>>", "<<b62:20>>"),
    "kubernetes-secret-data": (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: app\ntype: Opaque\ndata:\n"
        "  api-key: <<b64raw:30>>",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  api-key: <<b64raw:30>>",
    ),
    "curl-user-password": (
        "curl -u deploy:<<b62:8>>7<<b62:7>> https://api.internal/v1",
        "curl -u deploy https://api.internal/v1",
    ),
}

VENDOR_SAMPLES: dict[str, tuple[str, str]] = {
    "adafruit-api-key": _named("ADAFRUIT_IO_KEY", "<<b64u:32>>", "<<b64u:20>>"),
    "airtable-api-key": _named("AIRTABLE_API_KEY", "key<<b62:14>>", "key<<b62:8>>"),
    "algolia-api-key": _named("ALGOLIA_ADMIN_KEY", "<<hex:32>>", "<<hex:20>>"),
    "alibaba-secret-key": _named("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "<<b62:30>>", "<<b62:20>>"),
    "asana-client-secret": _named("ASANA_CLIENT_SECRET", "<<b62:32>>", "<<b62:20>>"),
    "atlassian-api-token-legacy": _named("JIRA_API_TOKEN", "<<b62:24>>", "<<b62:12>>"),
    "beamer-api-token": _named("BEAMER_API_KEY", "b_<<b64u:44>>", "b_<<b64u:20>>"),
    "bittrex-api-key": _named("BITTREX_API_SECRET", "<<b62:32>>", "<<b62:20>>"),
    "cisco-meraki-api-key": _named("MERAKI_DASHBOARD_API_KEY", "<<hex:40>>", "<<hex:20>>"),
    "cloudflare-global-api-key": _named("CLOUDFLARE_GLOBAL_KEY", "<<hex:37>>", "<<hex:20>>"),
    "codecov-token": _named("CODECOV_TOKEN", _UUID, "<<hex:20>>"),
    "cohere-api-key": _named("CO_API_KEY", "<<b62:40>>", "<<b62:20>>"),
    "coinbase-access-token": _named("COINBASE_ACCESS_TOKEN", "<<b64u:64>>", "<<b64u:20>>"),
    "confluent-api-key": _named("CONFLUENT_CLOUD_API_KEY", "<<updig:16>>", "<<updig:10>>"),
    "confluent-api-secret": _named("CONFLUENT_CLOUD_API_SECRET", "<<b64:64>>", "<<b64:20>>"),
    "contentful-delivery-token": _named("CONTENTFUL_DELIVERY_TOKEN", "<<b64u:43>>", "<<b64u:20>>"),
    "datadog-api-key": _named("DATADOG_API_KEY", "<<hex:32>>", "<<hex:20>>"),
    "discord-api-key": _named("DISCORD_APP_KEY", "<<hex:64>>", "<<hex:20>>"),
    "discord-client-secret": _named("DISCORD_CLIENT_SECRET", "<<b64u:32>>", "<<b64u:20>>"),
    "droneci-access-token": _named("DRONE_TOKEN", "<<b62:32>>", "<<b62:20>>"),
    "dropbox-token": _named("DROPBOX_ACCESS_TOKEN", "sl.<<b64u:140>>", "sl.<<b64u:20>>"),
    "dropbox-app-secret": _named("DROPBOX_APP_SECRET", "<<lowdig:15>>", "<<lowdig:9>>"),
    "etsy-api-key": _named("ETSY_API_KEY", "<<lowdig:24>>", "<<lowdig:12>>"),
    "facebook-app-secret": _named("FACEBOOK_APP_SECRET", "<<hex:32>>", "<<hex:20>>"),
    "facebook-app-access-token": _named(
        "FACEBOOK_APP_TOKEN", "<<dig:15>>|<<b64u:30>>", "<<dig:15>>"
    ),
    "fastly-api-token": _named("FASTLY_API_TOKEN", "<<b64u:32>>", "<<b64u:20>>"),
    "finicity-api-token": _named("FINICITY_APP_KEY", "<<hex:32>>", "<<hex:12>>"),
    "finicity-client-secret": _named("FINICITY_PARTNER_SECRET", "<<b62:20>>", "<<b62:12>>"),
    "finnhub-api-key": _named("FINNHUB_API_KEY", "<<lowdig:20>>", "<<lowdig:12>>"),
    "flickr-api-key": _named("FLICKR_API_SECRET", "<<hex:32>>", "<<hex:12>>"),
    "freshbooks-token": _named("FRESHBOOKS_ACCESS_TOKEN", "<<b62:64>>", "<<b62:20>>"),
    "gitter-access-token": _named("GITTER_TOKEN", "<<b64u:40>>", "<<b64u:20>>"),
    "gocardless-api-token": _named(
        "GOCARDLESS_ACCESS_TOKEN", "live_<<b64u:40>>", "live_<<b64u:9>>"
    ),
    "hubspot-api-key": _named("HUBSPOT_API_KEY", _UUID, "<<hex:20>>"),
    "intercom-access-token": _named("INTERCOM_ACCESS_TOKEN", "<<b64u:60>>", "<<b64u:20>>"),
    "jfrog-api-key": _named("JFROG_ACCESS_TOKEN", "<<b62:64>>", "<<b62:20>>"),
    "kraken-api-key": _named("KRAKEN_PRIVATE_KEY", "<<b64:88>>", "<<b64:30>>"),
    "kucoin-api-key": _named("KUCOIN_API_KEY", "<<hex:24>>", "<<hex:12>>"),
    "kucoin-api-secret": _named("KUCOIN_API_SECRET", _UUID, "<<hex:12>>"),
    "launchdarkly-key": _named("LAUNCHDARKLY_SDK_KEY", "sdk-<<uuid>>", "sdk-<<hex:8>>"),
    "linear-client-secret": _named("LINEAR_CLIENT_SECRET", "<<hex:32>>", "<<hex:12>>"),
    "linkedin-client-secret": _named("LINKEDIN_CLIENT_SECRET", "<<b62:16>>", "<<b62:8>>"),
    "lob-api-key": _named("LOB_API_KEY", "live_<<hex:35>>", "live_<<hex:12>>"),
    "looker-client-secret": _named("LOOKER_CLIENT_SECRET", "<<b62:24>>", "<<b62:12>>"),
    "mailgun-signing-key": _named(
        "MAILGUN_SIGNING_KEY", "<<hex:32>>-<<hex:8>>-<<hex:8>>", "<<hex:32>>"
    ),
    "mattermost-token": _named("MATTERMOST_TOKEN", "<<lowdig:26>>", "<<lowdig:12>>"),
    "messagebird-api-key": _named("MESSAGEBIRD_ACCESS_KEY", "<<b62:25>>", "<<b62:12>>"),
    "netlify-access-token": _named("NETLIFY_AUTH_TOKEN", "<<b64u:43>>", "<<b64u:20>>"),
    "newrelic-license-key": _named("NEW_RELIC_LICENSE_KEY", "<<hex:36>>NRAL", "<<hex:20>>"),
    "nytimes-api-key": _named("NYTIMES_API_KEY", "<<b64u:32>>", "<<b64u:20>>"),
    "plaid-secret": _named("PLAID_SECRET", "<<hex:30>>", "<<hex:12>>"),
    "privateai-api-key": _named("PRIVATE_AI_API_KEY", "<<lowdig:32>>", "<<lowdig:12>>"),
    "rapidapi-key": _named("RAPIDAPI_KEY", "<<b64u:50>>", "<<b64u:20>>"),
    "sendbird-api-token": _named("SENDBIRD_API_TOKEN", "<<hex:40>>", "<<hex:20>>"),
    "sentry-auth-token-legacy": _named("SENTRY_AUTH_TOKEN", "<<hex:64>>", "<<hex:20>>"),
    "sidekiq-secret": (
        "export BUNDLE_GEMS__CONTRIBSYS__COM=<<hex:8>>:<<hex:8>>",
        "export BUNDLE_GEMS__CONTRIBSYS__COM=<<hex:8>>",
    ),
    "snyk-api-token": _named("SNYK_TOKEN", _UUID, "<<hex:12>>"),
    "sonar-token-legacy": _named("SONAR_TOKEN", "<<hex:40>>", "<<hex:20>>"),
    "squarespace-api-key": _named("SQUARESPACE_API_KEY", _UUID, "<<hex:12>>"),
    "sumologic-access-key": _named("SUMO_ACCESS_KEY", "<<b62:64>>", "<<b62:20>>"),
    "travisci-token": _named("TRAVIS_API_TOKEN", "<<b62:22>>", "<<b62:12>>"),
    "twitch-api-token": _named("TWITCH_OAUTH_TOKEN", "<<lowdig:30>>", "<<lowdig:12>>"),
    "twitter-access-token": _named("TWITTER_ACCESS_TOKEN", "<<dig:19>>-<<b62:30>>", "<<dig:19>>"),
    "twitter-api-key": _named("TWITTER_CONSUMER_KEY", "<<b62:25>>", "<<b62:12>>"),
    "twitter-api-secret": _named("TWITTER_CONSUMER_SECRET", "<<b62:50>>", "<<b62:20>>"),
    "vault-legacy-token": _named("VAULT_TOKEN", "s.<<b62:24>>", "s.<<b62:10>>"),
    "yandex-access-token": _named("YANDEX_IAM_TOKEN", "YC<<b64u:38>>", "YC<<b64u:12>>"),
    "zendesk-api-token": _named("ZENDESK_API_TOKEN", "<<b62:40>>", "<<b62:20>>"),
}
