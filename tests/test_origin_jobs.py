"""Which background jobs an origin runs: its own Cloudflare purges always, the periodic jobs unless --no-jobs.

Two origins behind one balancer (``zelly stack``, production): the second runs
``zelly origin --no-jobs`` so domains are checked by one process, but each
origin's writes still reach Cloudflare, because each process queues its own
purges (origin.invalidation fills the queue of the process that wrote).
"""

from __future__ import annotations

from ops.commands.dev import background_jobs


def names(jobs) -> list[str]:
    return [job.__qualname__.split(".")[0] for job in jobs]


def with_cloudflare(services):
    return services.settings.replace(cloudflare_api_token="cf-token", cloudflare_zone_id="zone-1")


async def test_the_first_origin_runs_the_periodic_jobs_and_sends_its_purges(services):
    jobs = background_jobs(with_cloudflare(services), services)

    assert "cloudflare_purge_job" in names(jobs) and "periodic_verifier" in names(jobs)
    assert services.cloudflare_purge is not None


async def test_a_second_origin_still_sends_its_own_purges(services):
    jobs = background_jobs(with_cloudflare(services), services, periodic=False)

    assert names(jobs) == ["cloudflare_purge_job"]
    assert services.cloudflare_purge is not None  # attached: this process's writes reach Cloudflare


async def test_without_cloudflare_a_second_origin_runs_no_job(services):
    assert background_jobs(services.settings, services, periodic=False) == []
