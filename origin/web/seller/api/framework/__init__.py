"""The seller API's machinery, shared by every resource: host check, routing, parsing, problems, responses, idempotency, OpenAPI."""
