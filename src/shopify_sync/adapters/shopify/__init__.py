"""Adapter: Shopify's GraphQL Admin API as the ``StoreClient`` port."""

from __future__ import annotations

from shopify_sync.adapters.shopify.client import ShopifyClient

__all__ = ["ShopifyClient"]
