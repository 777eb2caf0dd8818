"""The abuse suite (issue 13): attacks that must fail, on both backends (``services`` is parametrised).

``analytics`` (a per-test chDB database attached to ``services``) comes from the analytics suite.
"""

from tests.analytics.conftest import analytics  # noqa: F401  (a fixture, used by name)
