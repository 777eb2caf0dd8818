"""The edge page cache in front of the origin, and the tag formats it shares with the origin.

Imports nothing from origin/: it receives the upstream URL, clients and callables.
"""
