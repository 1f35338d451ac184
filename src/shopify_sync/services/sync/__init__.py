"""The stages of a sync, each in one place; ``services.engine`` runs them in order.

- ``selection``: what to sync (rows to load, variants to resolve, writes of others to await);
- ``domain.decision``: the pure decision for each product (merge and classification);
- ``writing``: the write to Shopify with its write-ahead record (``outbound_writes``);
- ``settling``: settling Shopify's answer (or its side of the merge) on our rows;
- ``failure``: recording failures, backoff and parking;
- ``report``: what a sync did, product by product.
"""
