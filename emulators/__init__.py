"""Local stand-ins for the services the function talks to, and the stack that starts them.

- ``emulators.gateway.GatewayEmulator``: Cloudflare AI Gateway in front of OpenAI (HTTP/1.1).
- ``emulators.secretmanager.SecretManagerEmulator``: Secret Manager's AccessSecretVersion (gRPC).
- ``emulators.google``: Google's Pub/Sub emulator and ``gcp-storage-emulator`` as child processes
  (``emulators._storage_main`` is how the latter is run).
- ``emulators.eventarc`` and ``emulators.eventarc_pull``: Eventarc's Pub/Sub trigger, pushed to
  or pulling, turning messages into CloudEvents for ``prompt_event``.
- ``emulators.stack`` (``make run``) and ``emulators.delivery_stack``: the function with all of
  the above; ``emulators._server`` and ``emulators._ports`` are what the emulators share.

The gateway and Secret Manager emulators run in-process (``start()`` / ``stop()`` or ``with``) or
as ``python -m emulators.<name>``. Nothing is imported here so that using one emulator does not
pay for the other's imports (the Secret Manager client library alone costs a few tenths of a
second).
"""
