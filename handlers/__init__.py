"""Thin adapters from functions-framework's HTTP and CloudEvent calls onto `relay.Relay`."""
