"""Storefront rendering: the Jinja environment, themes, filters and view models.

Sees only plain data (view models); does no I/O and imports nothing from origin/.
"""
