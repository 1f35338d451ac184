"""Entrypoint: the HTTP API, Shopify's webhooks and the admin page."""
