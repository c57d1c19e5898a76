"""Unit tests: the core's logic in this process (httpx.MockTransport, in-process emulators and
loopback servers at most); no functions-framework process. No fixtures of their own."""
