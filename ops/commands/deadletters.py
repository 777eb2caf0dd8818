"""zelly deadletters list|replay: tasks that kept failing (backoffice.task_dead_letters)."""

from __future__ import annotations

import argparse

from origin.errors import ErrorKind
from origin.tasks.errors import TaskError, TaskErrorCode
from origin.services import open_services
from origin.settings import Settings
from workers import deadletters, queues
from workers.dispatch import open_task_queue


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("deadletters", help="list and replay tasks that kept failing")
    sub = parser.add_subparsers(dest="deadletters_command", metavar="ACTION", required=True)
    listing = sub.add_parser("list", help="dead letters not yet replayed")
    listing.add_argument("--queue", choices=queues.ALL_QUEUES, default=None)
    listing.add_argument("--all", action="store_true", help="include replayed ones")
    listing.set_defaults(handler=list_dead_letters)
    replay = sub.add_parser("replay", help="send a dead letter's task again (attempt 1)")
    replay.add_argument("id", type=int)
    replay.set_defaults(handler=replay_dead_letter)


async def list_dead_letters(args: argparse.Namespace, settings: Settings) -> int:
    async with open_services(settings, with_analytics=False) as services:
        letters = await deadletters.select_dead_letters(services, queue=args.queue, include_replayed=args.all)
    print(f"{'ID':>5}  {'QUEUE':<22} {'TASK':<34} {'TRIES':>5}  {'CREATED':<20} ERROR")
    for letter in letters:
        print(f"{letter.id:>5}  {letter.queue:<22} {letter.task_name:<34} {letter.attempts:>5}  {letter.created_at:%Y-%m-%d %H:%M:%S}  {letter.error[:80]}")
    return 0


async def replay_dead_letter(args: argparse.Namespace, settings: Settings) -> int:
    async with open_services(settings, with_analytics=False) as services:
        letter = await deadletters.select_dead_letter(services, args.id)
        if letter is None:
            raise TaskError(TaskErrorCode.UNKNOWN_DEAD_LETTER, f"no dead letter {args.id}", kind=ErrorKind.NOT_FOUND)
        # On Redis this only sends; the queue's workers run it. Embedded: it runs here, now.
        async with open_task_queue(settings, services, queue_names=(letter.queue,)) as task_queue:
            await deadletters.replay(services, task_queue.brokers[letter.queue], letter)
            await task_queue.wait_all()
    print(f"replayed dead letter {letter.id} ({letter.task_name}) on {letter.queue}")
    return 0
