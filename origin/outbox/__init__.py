"""The email outbox: mail written in the caller's transaction, sent by a worker after it commits.

A ``do_*`` action that must tell someone something (order confirmed, payment
received, a sign-in code) calls :func:`actions.queue_email` with its own
connection: the rendered message becomes a row in the same transaction as the
order, so a rollback sends nothing and a commit always leaves a row to send.
The send task is enqueued on the transaction's ``AfterCommit``; a periodic
sweep sends whatever an enqueue lost. Rows are claimed with a lease before a
send, so two workers never send one row twice at once, and kept after it, as
the merchant's record of what was sent (docs/email.md).

- ``templates``   EmailTemplate, the shipped Jinja defaults, per-tenant overrides rendered in a sandbox;
- ``tables``      the outbox rows and the tenants' template overrides;
- ``actions``     queue_email (in the caller's transaction), template override writes;
- ``sending``     claim due rows, send over SMTP (aiosmtplib), retry with back-off, give up;
- ``queries``     what the seller API and the CLI read;
- ``errors``      OutboxError and its codes.

Sits below the core domains (orders, customers and checkout call it) and above
tenancy. May import origin.db, origin.errors, origin.settings, origin.services,
storefront's sandbox globals. Never origin.web, never the workers.
"""
