-- PostgreSQL set-up for shopify-sync: run once as a superuser (psql -f postgresql.sql),
-- after choosing the password. The service needs one database it owns; the B2B platform's
-- Inventory Service reads and writes product_inventory in the same database (its own role
-- gets the grants at the end, after `shopify-sync db upgrade` has created the tables).
CREATE ROLE shopify_sync LOGIN PASSWORD 'CHANGE-THIS';
CREATE DATABASE shopify_sync OWNER shopify_sync ENCODING 'UTF8';
\connect shopify_sync
-- Each serve process uses up to 20 pooled connections plus 4 for webhook batches:
-- size max_connections for 24 x processes, plus the Inventory Service's own.
ALTER ROLE shopify_sync SET statement_timeout = '60s';
ALTER ROLE shopify_sync SET idle_in_transaction_session_timeout = '60s';

-- Then, as the service's user: shopify-sync db upgrade   (DATABASE_URL from the env file)
-- And for the Inventory Service (replace inventory_service with its role):
-- GRANT SELECT, INSERT, UPDATE ON product_inventory TO inventory_service;
-- GRANT SELECT ON inventory_sync_log TO inventory_service;
