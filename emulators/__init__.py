"""Local stand-ins for the services the function talks to.

- ``emulators.gateway.GatewayEmulator``: Cloudflare AI Gateway in front of OpenAI (HTTP/1.1).
- ``emulators.secretmanager.SecretManagerEmulator``: Secret Manager's AccessSecretVersion (gRPC).

Both run in-process (``start()`` / ``stop()`` or ``with``) or as ``python -m emulators.<name>``.
Nothing is imported here so that using one emulator does not pay for the other's imports
(the Secret Manager client library alone costs a few tenths of a second).
"""
