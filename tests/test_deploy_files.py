"""The deployment examples stay in step with the code."""

from __future__ import annotations

from pathlib import Path

import pytest

from origin.settings import ConfigurationError, Settings

DEPLOY = Path(__file__).resolve().parents[1] / "ops" / "deploy"


def test_the_example_environment_is_refused_until_its_placeholders_are_replaced() -> None:
    with pytest.raises(ConfigurationError) as raised:
        Settings.from_env({}, env_file=DEPLOY / "zelly.env.example")

    assert raised.value.variable == "ZELLY_DATABASE_URL" and "is a placeholder" in raised.value.problem


def test_the_example_environment_is_valid_configuration_with_real_secrets() -> None:
    filled = {
        "ZELLY_DATABASE_URL": "mysql+aiomysql://zelly:Vq7pL2xN9kR4tW8z@db.internal:3306/",
        "ZELLY_SECRET_KEY": "k3Jq9vX2pL7mN4rT8wY1zB6cD0fG5hS2aE9uI7oP",
        "ZELLY_INTERNAL_TOKEN": "Pq8Wn3Lz7Xc2Vb6Nm1Kj5Hg9Fd4Sa0Qe",
        "ZELLY_SMTP_PASSWORD": "smtp-Rt5Yu8Io2Pa6",
    }
    settings = Settings.from_env(filled, env_file=DEPLOY / "zelly.env.example")

    assert settings.platform_domain == "shops.example.com"
    assert settings.platform_ips == ("203.0.113.10", "2001:db8::10")
    assert settings.trusted_proxies == ("127.0.0.1", "::1")  # per-address rate limits see the shopper, not Caddy
    assert not settings.uses_embedded_database
    assert (settings.smtp_host, settings.smtp_port, settings.smtp_starttls) == ("smtp.example.com", 587, "always")
    assert "CHANGE-ME" not in repr(settings)
