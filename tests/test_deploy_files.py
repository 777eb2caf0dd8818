"""The deployment examples stay in step with the code."""

from __future__ import annotations

from pathlib import Path

from origin.settings import Settings

DEPLOY = Path(__file__).resolve().parents[1] / "ops" / "deploy"


def test_the_example_environment_is_valid_configuration() -> None:
    settings = Settings.from_env({}, env_file=DEPLOY / "zelly.env.example")

    assert settings.platform_domain == "shops.example.com"
    assert settings.platform_ips == ("203.0.113.10", "2001:db8::10")
    assert not settings.uses_embedded_database
    assert (settings.smtp_host, settings.smtp_port, settings.smtp_starttls) == ("smtp.example.com", 587, "always")
    assert "CHANGE-ME" not in repr(settings)
