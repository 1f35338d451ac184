"""shopify-sync: two-way stock sync between a B2B database and a Shopify store."""
