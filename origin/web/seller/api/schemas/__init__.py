"""Pydantic request and response models of the seller API, one module per resource."""
