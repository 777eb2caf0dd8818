"""zelly migrate / zelly analytics as an operator runs them (real subprocesses, embedded stores)."""

from pathlib import Path

from tests.test_cli import zelly


def test_migrate_rollup_and_dashboard_link(tmp_path: Path) -> None:
    secret = {"ZELLY_SECRET_KEY": "cli-secret-key-0123456789"}

    migrated = zelly(tmp_path, "migrate", **secret)
    again = zelly(tmp_path, "migrate", **secret)
    created = zelly(tmp_path, "tenant", "create", "--slug", "acme", "--name", "Acme", **secret)
    rollup = zelly(tmp_path, "analytics", "rollup", "--day", "2026-11-01", **secret)
    link = zelly(tmp_path, "analytics", "dashboard-link", "--tenant", "acme", **secret)
    unknown = zelly(tmp_path, "analytics", "dashboard-link", "--tenant", "nobody", **secret)
    bad_day = zelly(tmp_path, "analytics", "rollup", "--day", "November", **secret)
    consume_without_redis = zelly(tmp_path, "analytics", "consume", **secret)

    assert migrated.returncode == 0, migrated.stderr
    assert "analytics: schema at 4 (applied 1, 2, 3, 4), retention 400 days (changed)" in migrated.stdout
    assert "analytics: schema at 4 (nothing to apply), retention 400 days" in again.stdout
    assert created.returncode == 0, created.stderr
    assert (rollup.returncode, rollup.stdout.strip()) == (0, "rollup 2026-11-01: 1 tenants")
    # the platform's public URL (Caddy's HTTPS port in dev), naming the store; never the origin's bind address
    assert link.returncode == 0 and link.stdout.startswith("https://localhost:8443/analytics/dashboard?store=acme&link=1.")
    assert (unknown.returncode, unknown.stdout.strip()) == (1, "no store with slug 'nobody'")
    assert consume_without_redis.returncode == 2 and "needs ZELLY_REDIS_URL" in consume_without_redis.stdout
    assert bad_day.returncode == 2 and "expected a date like 2026-11-25, got 'November'" in bad_day.stderr
