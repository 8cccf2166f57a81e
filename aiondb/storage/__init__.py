"""Storage: catalog, in-memory engines, transactions, tenants."""
