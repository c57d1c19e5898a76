"""The values every kind of test shares: the stand-ins' credentials, the secret values the
end-of-session scan looks for, and the project they live in."""

from __future__ import annotations

from emulators.stack import Credentials

CREDENTIALS = Credentials(
    name="test", token="aig-test-token-7f3a9c1e5d", openai_key="sk-test-openai-key-2b8d4e6f0a"
)
PROJECT = CREDENTIALS.project
TOKEN = CREDENTIALS.token
OPENAI_KEY = CREDENTIALS.openai_key
TOKEN_SECRET = CREDENTIALS.token_secret
KEY_SECRET = CREDENTIALS.key_secret
# The value a rotation test moves the gateway token to.
ROTATED_TOKEN = "aig-rotated-token-9c8b7a6f5e"
SECRET_VALUES = (TOKEN, OPENAI_KEY, ROTATED_TOKEN)
