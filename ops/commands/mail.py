"""zelly mail list|show (the dev mailbox, var/mail/) and zelly mail outbox|retry (the outbox table)."""

from __future__ import annotations

import argparse

from ops.mail_server import MailDirectory
from origin.errors import ErrorKind
from origin.outbox import actions, queries
from origin.outbox.errors import OutboxError, OutboxErrorCode
from origin.services import open_services
from origin.settings import Settings
from workers import queues
from workers.dispatch import open_task_queue


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("mail", help="read the dev mailbox; list and retry the email outbox")
    sub = parser.add_subparsers(dest="mail_command", metavar="ACTION", required=True)
    listing = sub.add_parser("list", help="messages the dev mail server received (var/mail/), oldest first")
    listing.set_defaults(handler=list_mail)
    show = sub.add_parser("show", help="one received message: its headers and plain-text body")
    show.add_argument("message", help="its number in `zelly mail list` (1 = oldest) or its file name")
    show.add_argument("--html", action="store_true", help="print the HTML body instead of the text")
    show.set_defaults(handler=show_mail)
    outbox = sub.add_parser("outbox", help="the outbox rows of every store, newest first")
    outbox.add_argument("--status", choices=("pending", "sent", "dead"), default=None)
    outbox.add_argument("--limit", type=int, default=50)
    outbox.set_defaults(handler=list_outbox)
    retry = sub.add_parser("retry", help="send a dead outbox message again (attempts start over)")
    retry.add_argument("id", type=int)
    retry.set_defaults(handler=retry_outbox)


def _mailbox(settings: Settings) -> MailDirectory:
    return MailDirectory(settings.data_dir / "mail")


async def list_mail(args: argparse.Namespace, settings: Settings) -> int:
    mailbox = _mailbox(settings)
    stored = mailbox.messages()
    if not stored:
        print(f"no mail in {mailbox.directory}/ yet")
        return 0
    print(f"{'#':>4}  {'RECEIVED':<20} {'TO':<32} SUBJECT")
    for number, mail in enumerate(stored, 1):
        received = mail.name[:15]
        when = f"{received[0:4]}-{received[4:6]}-{received[6:8]} {received[9:11]}:{received[11:13]}:{received[13:15]}"
        print(f"{number:>4}  {when:<20} {', '.join(mail.envelope_to)[:32]:<32} {mail.message['Subject']}")
    return 0


async def show_mail(args: argparse.Namespace, settings: Settings) -> int:
    mail = _mailbox(settings).find(args.message)
    if mail is None:
        raise OutboxError(OutboxErrorCode.UNKNOWN_EMAIL, f"no message {args.message!r} in {_mailbox(settings).directory}/", kind=ErrorKind.NOT_FOUND)
    for header in ("From", "To", "Subject", "Date", "Message-ID"):
        print(f"{header}: {mail.message[header]}")
    print(f"File: {mail.path}")
    print()
    body = mail.message.get_body(("html",) if args.html else ("plain",))
    print(body.get_content().replace("\r\n", "\n") if body is not None else "(no such part)")
    return 0


async def list_outbox(args: argparse.Namespace, settings: Settings) -> int:
    async with open_services(settings, with_analytics=False) as services:
        async with services.db.connect() as conn:
            emails = await queries.select_emails(conn, None, status=args.status, limit=args.limit)
    print(f"{'ID':>6}  {'TENANT':>6}  {'STATUS':<8} {'TRIES':>5}  {'CREATED':<20} {'TO':<28} SUBJECT / LAST ERROR")
    for email in emails:
        detail = email.last_error if email.status != "sent" and email.last_error else email.subject
        print(
            f"{email.id:>6}  {email.tenant_id:>6}  {email.status:<8} {email.attempts:>5}  {email.created_at:%Y-%m-%d %H:%M:%S}  "
            f"{email.to_address[:28]:<28} {detail[:80]}"
        )
    return 0


async def retry_outbox(args: argparse.Namespace, settings: Settings) -> int:
    async with open_services(settings, with_analytics=False) as services:
        # On Redis this only sends the task; the EMAIL_OUTBOX workers run it. Embedded: it runs here, now.
        async with open_task_queue(settings, services, queue_names=(queues.EMAIL_OUTBOX,)) as task_queue:
            await actions.do_retry_email(services, None, args.id)
            await task_queue.wait_all()
        async with services.db.connect() as conn:
            email = await queries.select_email(conn, None, args.id)
    print(f"email {args.id}: {email.status}" + (f" ({email.last_error})" if email.last_error else ""))
    return 0
