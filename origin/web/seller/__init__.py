"""What merchants reach on the platform host: the /api/v1 seller API, its bearer tokens, and the seller panel."""
