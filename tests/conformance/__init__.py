"""The gateway client's conformance suite: hostile server behaviours over raw sockets, run
against every candidate HTTP client in one pytest run (docs/transport.md)."""
