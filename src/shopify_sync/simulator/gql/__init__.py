"""The GraphQL Admin API: Shopify's real schemas executed by graphql-core with our resolvers."""
