"""Code that handles credentials without containing any."""

import os

password = os.environ["DB_PASSWORD"]
token = get_token_from_vault("deploy")
api_key = settings.API_KEY_FALLBACK
headers = {"Authorization": "Bearer " + token}
PASSWORD_FIELD = "password_confirmation"
secret_name = "payments-service-signing-key"
url = f"https://{user}:{password}@example.org/"
