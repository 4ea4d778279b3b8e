"""Rules for chat, mail and payment services."""

from __future__ import annotations

from bastion.scanners.finding import Severity
from bastion.scanners.secrets.rule import Rule, Validator
from bastion.scanners.secrets.shapes import BOUNDARY_AFTER, BOUNDARY_BEFORE, assigned, prefixed

__all__ = ["COMMS_RULES"]

_C, _H, _M, _L = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW
_SLACK = Validator.SLACK

COMMS_RULES: tuple[Rule, ...] = (
    prefixed(
        "slack-bot-token",
        "Slack bot token",
        _H,
        "xoxb-",
        "[0-9]{10,13}-[0-9]{10,13}-[A-Za-z0-9]{24}",
        validator=_SLACK,
    ),
    prefixed(
        "slack-user-token",
        "Slack user token",
        _C,
        "xoxp-",
        "[0-9]{10,13}-[0-9]{10,13}-[0-9]{10,13}-[a-f0-9]{32}",
        validator=_SLACK,
    ),
    prefixed(
        "slack-app-token",
        "Slack app-level token",
        _H,
        "xapp-",
        "[0-9]-[A-Z0-9]{9,11}-[0-9]{10,13}-[a-f0-9]{64}",
        validator=_SLACK,
    ),
    prefixed(
        "slack-config-token",
        "Slack configuration token",
        _H,
        r"xoxe\.xox[bp]-",
        "[0-9]-[A-Z0-9]{140,170}",
        keywords=("xoxe.xox",),
    ),
    prefixed(
        "slack-legacy-token",
        "Slack legacy workspace token",
        _H,
        "xox[aors]-",
        "[0-9]{10,13}-[0-9]{10,13}(?:-[0-9]{10,13})?-[A-Za-z0-9]{24,40}",
        keywords=("xoxa-", "xoxo-", "xoxr-", "xoxs-"),
        validator=_SLACK,
    ),
    Rule(
        id="slack-webhook-url",
        title="Slack incoming webhook URL",
        severity=_H,
        pattern=(
            r"(?P<secret>https://hooks\.slack\.com/(?:services|workflows|triggers)/"
            r"T[A-Z0-9]{8,12}/[AB][A-Z0-9]{8,12}/[A-Za-z0-9]{24,32})(?![A-Za-z0-9])"
        ),
        keywords=("hooks.slack.com",),
    ),
    Rule(
        id="discord-bot-token",
        title="Discord bot token",
        severity=_H,
        pattern=(
            f"{BOUNDARY_BEFORE}(?P<secret>[MNO][A-Za-z0-9_\\-]{{23,27}}\\.[A-Za-z0-9_\\-]{{6}}"
            f"\\.[A-Za-z0-9_\\-]{{27,38}}){BOUNDARY_AFTER}"
        ),
        # The token has no literal part: it needs a word of context on its line.
        keywords=("discord", "token", "bot", ".run("),
        validator=Validator.DISCORD,
    ),
    Rule(
        id="discord-webhook-url",
        title="Discord webhook URL",
        severity=_M,
        pattern=(
            r"(?P<secret>https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/"
            r"[0-9]{17,20}/[A-Za-z0-9_\-]{60,68})(?![A-Za-z0-9_\-])"
        ),
        keywords=("/api/webhooks/",),
    ),
    Rule(
        id="telegram-bot-token",
        title="Telegram bot token",
        severity=_H,
        pattern=f"(?<![0-9])(?P<secret>[0-9]{{8,10}}:AA[A-Za-z0-9_\\-]{{33}}){BOUNDARY_AFTER}",
        keywords=(":aa",),
    ),
    prefixed("twilio-api-key", "Twilio API key SID", _M, "SK", "[0-9a-f]{32}", entropy=3.0),
    assigned(
        "twilio-auth-token",
        "Twilio auth token",
        _H,
        r"twilio[A-Za-z0-9_.\-]{0,20}?(?:token|secret)",
        "[a-f0-9]{32}",
        keywords=("twilio",),
    ),
    prefixed(
        "sendgrid-api-key",
        "SendGrid API key",
        _H,
        r"SG\.",
        r"[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43}",
        keywords=("sg.",),
    ),
    prefixed("mailgun-api-key", "Mailgun private API key", _H, "key-", "[a-f0-9]{32}", entropy=3.2),
    prefixed(
        "mailchimp-api-key",
        "Mailchimp API key",
        _H,
        "",
        r"[a-f0-9]{32}-us[0-9]{1,2}",
        keywords=("-us",),
        entropy=3.2,
    ),
    assigned(
        "postmark-server-token",
        "Postmark server token",
        _H,
        r"postmark[A-Za-z0-9_.\-]{0,20}?(?:token|key)",
        "[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}",
        keywords=("postmark",),
    ),
    prefixed(
        "stripe-secret-key",
        "Stripe live secret key",
        _C,
        "sk_live_",
        "[A-Za-z0-9]{24,99}",
        entropy=3.5,
    ),
    prefixed(
        "stripe-restricted-key",
        "Stripe live restricted key",
        _C,
        "rk_live_",
        "[A-Za-z0-9]{24,99}",
        entropy=3.5,
    ),
    prefixed(
        "stripe-test-secret-key",
        "Stripe test-mode secret or restricted key",
        _L,
        "[rs]k_test_",
        "[A-Za-z0-9]{24,99}",
        keywords=("sk_test_", "rk_test_"),
        entropy=3.5,
    ),
    prefixed(
        "stripe-webhook-secret",
        "Stripe webhook signing secret",
        _H,
        "whsec_",
        "[A-Za-z0-9+/]{32,64}",
        entropy=3.5,
    ),
    prefixed(
        "square-access-token", "Square access token", _C, "EAAA", r"[A-Za-z0-9_\-]{60}", entropy=4.0
    ),
    prefixed(
        "square-oauth-token", "Square OAuth token (legacy)", _C, "sq0atp-", r"[A-Za-z0-9_\-]{22}"
    ),
    prefixed(
        "square-oauth-secret",
        "Square OAuth application secret",
        _C,
        "sq0csp-",
        r"[A-Za-z0-9_\-]{43}",
    ),
    prefixed(
        "paypal-braintree-token",
        "PayPal Braintree access token",
        _C,
        r"access_token\$production\$",
        r"[0-9a-z]{16}\$[0-9a-f]{32}",
        keywords=("access_token$production$",),
    ),
    assigned(
        "paypal-client-secret",
        "PayPal REST client secret",
        _C,
        r"paypal[A-Za-z0-9_.\-]{0,20}?secret",
        r"E[A-Za-z0-9_\-]{79}",
        keywords=("paypal",),
        entropy=4.5,
    ),
    prefixed("razorpay-live-key", "Razorpay live key ID", _H, "rzp_live_", "[A-Za-z0-9]{14}"),
    prefixed(
        "flutterwave-secret-key",
        "Flutterwave secret key",
        _C,
        "FLWSECK(?:_TEST)?-",
        "[a-f0-9]{32}-X",
        keywords=("flwseck",),
        after=r"(?![A-Za-z0-9])",
    ),
)
