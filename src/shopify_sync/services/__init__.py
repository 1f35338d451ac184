"""The service layer: use cases (handlers) and the ports they need."""
