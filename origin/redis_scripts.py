"""Lua script calls to Redis sent together: the calls made in one turn of the event loop go as one pipeline.

A beacon request costs two script calls (its rate-limit buckets, then the
visitor's session), and a browser sends one event per request, so under load
every event paid two Redis round trips of its own (issue 14, item 3: "no
per-event Redis round trip on the beacon's Redis backend"). Here a call waits
for the rest of the current loop turn; every call queued by then (the other
requests the loop is running) goes to Redis as one pipeline of ``EVALSHA``:
one write and one read for all of them. Each script still runs atomically and
in the order the calls were made, so a caller sees what its own round trip
would have given it; only the latency of a lone call grows, by one loop turn.

A ``NOSCRIPT`` answer (Redis restarted, ``SCRIPT FLUSH``) loads the script and
sends that call again. A connection failure or timeout reaches every caller of
the batch as the exception its own call would have raised, so each keeps its
own fallback (the rate limiter fails open, the cache answers its default).
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field
from typing import Any, Sequence

import redis.asyncio as aioredis
from redis.exceptions import NoScriptError


@dataclass(frozen=True)
class LuaScript:
    source: str
    sha: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sha", hashlib.sha1(self.source.encode()).hexdigest())


@dataclass
class _Call:
    script: LuaScript
    keys: Sequence[Any]
    args: Sequence[Any]
    answer: asyncio.Future


class ScriptCalls:
    """One client's script calls, batched per loop turn."""

    def __init__(self, client: aioredis.Redis) -> None:
        self.client = client
        self._waiting: list[_Call] = []
        self._sending: set[asyncio.Task] = set()  # held: the loop keeps only weak references to tasks
        self.batches_sent = 0  # for tests and benchmarks: how many pipelines carried the calls

    async def run(self, script: LuaScript, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        """What ``EVALSHA script keys args`` answers (the script loaded first if Redis lacks it)."""
        loop = asyncio.get_running_loop()
        call = _Call(script, keys, args, loop.create_future())
        self._waiting.append(call)
        if len(self._waiting) == 1:
            # Runs on the next loop turn, after everything ready in this one has queued its calls.
            task = loop.create_task(self._send())
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)
        return await call.answer

    async def _send(self) -> None:
        calls, self._waiting = self._waiting, []  # calls made while this batch is out go in the next one
        self.batches_sent += 1
        try:
            results = await self._pipeline(calls)
            missing = [call for call, result in zip(calls, results) if isinstance(result, NoScriptError)]
            if missing:
                for script in {call.script for call in missing}:
                    await self.client.script_load(script.source)
                again = dict(zip(map(id, missing), await self._pipeline(missing)))
                results = [again.get(id(call), result) for call, result in zip(calls, results)]
        except asyncio.CancelledError:
            for call in calls:
                call.answer.cancel()
            raise
        except Exception as error:  # the connection's failure is every caller's: each handles it as its own
            for call in calls:
                if not call.answer.done():
                    call.answer.set_exception(error)
            return
        for call, result in zip(calls, results):
            if call.answer.done():  # its caller was cancelled meanwhile
                continue
            if isinstance(result, Exception):
                call.answer.set_exception(result)
            else:
                call.answer.set_result(result)

    async def _pipeline(self, calls: list[_Call]) -> list[Any]:
        pipe = self.client.pipeline(transaction=False)
        for call in calls:
            pipe.evalsha(call.script.sha, len(call.keys), *call.keys, *call.args)
        return await pipe.execute(raise_on_error=False)
