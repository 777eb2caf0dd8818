from pathlib import Path

import pytest

from origin.settings import ConfigurationError, Settings


def test_defaults_are_the_embedded_stores(tmp_path: Path) -> None:
    settings = Settings.from_env({}, env_file=None)

    assert settings.effective_database_url == "sqlite+aiosqlite:///var/db/main.sqlite3"
    assert settings.effective_analytics_url == "chdb://var/analytics"
    assert settings.redis_url == ""
    assert settings.uses_embedded_database


def test_environment_switches_to_servers() -> None:
    settings = Settings.from_env(
        {
            "ZELLY_DATABASE_URL": "mysql+aiomysql://root@127.0.0.1:3306/",
            "ZELLY_REDIS_URL": "redis://127.0.0.1:6379/0",
            "ZELLY_ANALYTICS_URL": "http://127.0.0.1:8123",
            "ZELLY_DNS_RESOLVERS": "127.0.0.1:5353, 127.0.0.2",
            "ZELLY_HTTPS_PORT": "9443",
        },
        env_file=None,
    )

    assert not settings.uses_embedded_database
    assert settings.dns_resolvers == ("127.0.0.1:5353", "127.0.0.2")
    assert settings.https_port == 9443


def test_env_file_fills_in_what_the_environment_lacks(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("# local\nZELLY_PLATFORM_DOMAIN=shops.test\nexport ZELLY_HTTP_PORT='9080'\n")

    settings = Settings.from_env({"ZELLY_PLATFORM_DOMAIN": "from-env.test"}, env_file=env_file)

    assert settings.platform_domain == "from-env.test"
    assert settings.http_port == 9080


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("ZELLY_DATABASE_URL", "postgres://x/y", "unsupported scheme"),
        ("ZELLY_REDIS_URL", "127.0.0.1:6379", "expected redis://"),
        ("ZELLY_ANALYTICS_URL", "ftp://x", "expected http(s)://"),
        ("ZELLY_HTTPS_PORT", "eighty", "expected a whole number"),
        ("ZELLY_HTTP_PORT", "70000", "outside 1-65535"),
        ("ZELLY_ORIGIN_BIND", "8000", "expected host:port"),
        ("ZELLY_PLATFORM_IPS", "not-an-ip", "not an IP address"),
        ("ZELLY_SMTP_PORT", "0", "outside 1-65535"),
        ("ZELLY_SMTP_STARTTLS", "yes", "expected auto, always or never"),
        ("ZELLY_MAIL_FROM", "Zelly <orders@shops.example.com>", "expected one address"),
    ],
)
def test_a_bad_value_names_the_variable(variable: str, value: str, message: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        Settings.from_env({variable: value}, env_file=None)

    assert raised.value.variable == variable
    assert message in str(raised.value)
    assert str(raised.value).startswith(f"{variable}: ")


@pytest.mark.parametrize("domain", ["shops.example.com", "zelly.shop", "Zelly.Shop."])
def test_a_public_platform_domain_needs_its_public_suffix_entry(domain: str) -> None:
    """The seller API's hosts are the parent and a sibling of every store host (issue 13, item 9; docs/security.md)."""
    secrets = {"ZELLY_SECRET_KEY": STRONG_SECRET, "ZELLY_INTERNAL_TOKEN": STRONG_SECRET[::-1]}  # strong: only the suffix is missing
    with pytest.raises(ConfigurationError) as raised:
        Settings.from_env({"ZELLY_PLATFORM_DOMAIN": domain, **secrets}, env_file=None)
    listed = Settings.from_env({"ZELLY_PLATFORM_DOMAIN": domain, "ZELLY_PLATFORM_DOMAIN_PUBLIC_SUFFIX": "true", **secrets}, env_file=None)

    assert raised.value.variable == "ZELLY_PLATFORM_DOMAIN"
    assert "Public Suffix List" in str(raised.value) and "ZELLY_PLATFORM_DOMAIN_PUBLIC_SUFFIX=true" in str(raised.value)
    assert listed.platform_domain_public_suffix is True


@pytest.mark.parametrize("domain", ["localhost", "zelly.test", "shops.localhost", "zelly.internal", "127.0.0.1", "box.home.arpa"])
def test_local_platform_domains_need_no_public_suffix_entry(domain: str) -> None:
    assert Settings.from_env({"ZELLY_PLATFORM_DOMAIN": domain}, env_file=None).platform_domain_public_suffix is False


def test_a_yes_or_no_setting_refuses_anything_else() -> None:
    with pytest.raises(ConfigurationError) as raised:
        Settings.from_env({"ZELLY_PLATFORM_DOMAIN_PUBLIC_SUFFIX": "maybe"}, env_file=None)

    assert str(raised.value) == "ZELLY_PLATFORM_DOMAIN_PUBLIC_SUFFIX: expected true or false, got 'maybe'"


def test_secrets_never_show_in_repr() -> None:
    settings = Settings(
        secret_key="s3cret-key",
        internal_token="tok-123",
        cloudflare_api_token="cf-abc",
        database_url="mysql+aiomysql://app:hunter2@db:3306/",
        redis_url="redis://:pw-redis@cache:6379/0",
        smtp_password="smtp-pw-9",
    )

    text = repr(settings) + str(settings)

    for secret in ("s3cret-key", "tok-123", "cf-abc", "hunter2", "pw-redis", "smtp-pw-9"):
        assert secret not in text


def test_a_misspelt_variable_is_an_error_with_a_suggestion() -> None:
    with pytest.raises(ConfigurationError) as raised:
        Settings.from_env({"ZELLY_DATABSE_URL": "mysql+aiomysql://x/"}, env_file=None)

    assert str(raised.value) == (
        "ZELLY_DATABSE_URL: not a Zelly setting; did you mean ZELLY_DATABASE_URL? (see docs/configuration.md)"
    )


def test_the_test_suites_variables_are_not_settings() -> None:
    settings = Settings.from_env(
        {"ZELLY_REQUIRE_SERVICES": "1", "ZELLY_TEST_MYSQL_URL": "mysql+aiomysql://root@127.0.0.1/"}, env_file=None
    )

    assert settings == Settings()


STRONG_SECRET = "k3Jq9vX2pL7mN4rT8wY1zB6cD0fG5hS2aE9uI7oP"  # 40 bytes, no placeholder word
PUBLIC = {"ZELLY_PLATFORM_DOMAIN": "shops.example.net", "ZELLY_PLATFORM_DOMAIN_PUBLIC_SUFFIX": "true", "ZELLY_SECRET_KEY": STRONG_SECRET, "ZELLY_INTERNAL_TOKEN": STRONG_SECRET[::-1]}


def test_a_public_platform_with_strong_secrets_starts() -> None:
    settings = Settings.from_env(PUBLIC, env_file=None)

    assert not settings.is_dev
    assert settings.secret_key.reveal() == STRONG_SECRET


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("ZELLY_SECRET_KEY", "", "must be set when the platform domain is public"),
        ("ZELLY_INTERNAL_TOKEN", "", "must be set when the platform domain is public"),
        ("ZELLY_SECRET_KEY", "CHANGE-ME", "is a placeholder"),
        ("ZELLY_SECRET_KEY", "CHANGE-ME-64-random-characters", "is a placeholder"),
        ("ZELLY_INTERNAL_TOKEN", "changeme", "is a placeholder"),
        ("ZELLY_INTERNAL_TOKEN", "replace_me_with_a_long_random_token_value", "is a placeholder"),
        ("ZELLY_SECRET_KEY", "your-secret-key-goes-here-0123456789abcdef", "is a placeholder"),
        ("ZELLY_SECRET_KEY", "x" * 64, "is a placeholder"),
        ("ZELLY_SECRET_KEY", "short-but-random-9f3k", "is 21 bytes; use at least 32"),
        ("ZELLY_INTERNAL_TOKEN", "0123456789abcdef0123456789abcde", "is 31 bytes; use at least 32"),
        ("ZELLY_SMTP_PASSWORD", "CHANGE-ME", "is a placeholder"),
        ("ZELLY_STRIPE_WEBHOOK_SECRET", "whsec_example", "is a placeholder"),
        ("ZELLY_CLOUDFLARE_API_TOKEN", "changeme", "is a placeholder"),
        ("ZELLY_DATABASE_URL", "mysql+aiomysql://zelly:CHANGE-ME@db.internal:3306/", "the password in 'mysql+aiomysql://zelly:***@db.internal:3306/' is a placeholder"),
    ],
)
def test_a_public_platform_refuses_empty_placeholder_and_short_secrets(variable: str, value: str, message: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        Settings.from_env({**PUBLIC, variable: value}, env_file=None)

    assert raised.value.variable == variable
    assert message in str(raised.value)
    assert value not in str(raised.value) or not value  # the refusal never prints the secret


def test_a_weak_previous_secret_is_accepted_so_it_can_be_rotated_out() -> None:
    settings = Settings.from_env({**PUBLIC, "ZELLY_SECRET_KEY_PREVIOUS": "CHANGE-ME-64-random-characters"}, env_file=None)

    assert settings.secret_key_previous.reveal() == "CHANGE-ME-64-random-characters"


@pytest.mark.parametrize("domain", ["localhost", "shops.localhost", "zelly.test"])
def test_dev_platforms_keep_the_generated_secret_and_any_test_secret(domain: str) -> None:
    settings = Settings.from_env({"ZELLY_PLATFORM_DOMAIN": domain, "ZELLY_INTERNAL_TOKEN": "dev"}, env_file=None)

    assert settings.is_dev
    assert settings.secret_key == ""  # open_services generates one into the data directory


@pytest.mark.parametrize(
    ("variable", "value"),
    [("ZELLY_RATE_LIMIT_API_TOKEN", "600"), ("ZELLY_RATE_LIMIT_CART_IP", "0/60"), ("ZELLY_RATE_LIMIT_EVENTS_IP", "ten/60"),
     ("ZELLY_RATE_LIMIT_WEBHOOKS_IP", "60/0"), ("ZELLY_RATE_LIMIT_WEBHOOKS_TENANT", "²/60"),
     ("ZELLY_RATE_LIMIT_THEME_WRITE_TENANT", "30/٣")],
)
def test_a_bad_rate_limit_names_the_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        Settings.from_env({variable: value}, env_file=None)

    assert str(raised.value) == f"{variable}: expected <requests>/<seconds> such as 600/60, got {value!r}"
