"""Customers: the ``ecom_store_front`` tables (customers, sessions, addresses).

Only the tables are here: accounts (sign-up, login, sessions, addresses) come
with the customer-accounts issue, which adds models.py, queries.py and actions.py
beside them. Shopify's compliance webhooks read and redact these rows.

May import origin.db, origin.errors. Never origin.web.
"""
