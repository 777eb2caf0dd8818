"""Posting beacon batches through the real app, as a browser on a given address would."""

from __future__ import annotations

from typing import Any

from tests.analytics.conftest import UA_DESKTOP


async def post_events(client, host: str, events: Any, *, ip: str = "203.0.113.7", user_agent: str = UA_DESKTOP, **headers):
    return await client.post(
        "/events",
        json=events,
        headers={"Host": host, "User-Agent": user_agent, **headers},
        scope_base={"client": (ip, 50000)},
    )


def page_view(path: str = "/", *, host: str = "acme.localhost", referrer: str = "", event_id: str | None = None) -> dict:
    event: dict[str, Any] = {"name": "page_view", "url": f"https://{host}{path}", "referrer": referrer}
    if event_id:
        event["event_id"] = event_id
    return event


def event(name: str, path: str = "/", *, host: str = "acme.localhost", event_id: str | None = None, **props) -> dict:
    body: dict[str, Any] = {"name": name, "url": f"https://{host}{path}", "referrer": "", "props": props}
    if event_id:
        body["event_id"] = event_id
    return body
