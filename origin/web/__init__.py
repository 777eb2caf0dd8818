"""Blueprints: parse the request, call a query or action, render, set cache headers.

The only place that knows HTTP; domain errors are mapped to responses in errors.py.
"""
