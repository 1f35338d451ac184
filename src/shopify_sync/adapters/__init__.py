"""Adapters: thin wrappers that implement the service ports with real technology."""
