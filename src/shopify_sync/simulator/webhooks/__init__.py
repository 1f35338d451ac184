"""Webhooks: subscriptions, payloads in Shopify's shapes, and signed background delivery."""
