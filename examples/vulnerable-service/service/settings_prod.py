"""Production settings, committed by mistake: every value here is a planted secret.

The values are synthetic (random bodies with real prefixes and checksums), never live
credentials; EXPECTED.md lists the rule Bastion's secrets gate must report for each.
"""

# planted: AWS access key id in code
AWS_ACCESS_KEY_ID = "AKIAPYCDYBK377OXTZQ6"
# planted: AWS secret access key in code
AWS_SECRET_ACCESS_KEY = "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"
# planted: GitHub token in code
GITHUB_TOKEN = "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"
# planted: Stripe live key in code
STRIPE_API_KEY = "sk_live_KE1QufhQNB9reosfhypnXLDn8S9wPNWk"
# planted: database password in a URL
DATABASE_URL = "postgresql://inventory:PLR347A7TP7doE2u@db.internal:5432/inventory"
