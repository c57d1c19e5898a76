"""The conformance suite stands alone: its server is _server.py, nothing from tests/conftest.py."""
