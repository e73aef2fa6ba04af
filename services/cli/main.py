"""The `recouvre` command: run the service or one of its parts, and the legal calculators."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from typing import NoReturn

from services.config import Settings
from services.observability.logs import configure_logging

LEGAL_COMMANDS = ("decompte", "deadline", "prescription")  # legal/cli.py


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="recouvre", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    commands.add_parser("run", help="start everything on the embedded defaults (make run)")
    commands.add_parser("api", help="serve the HTTP API only (needs DATABASE_URL)")
    commands.add_parser("worker", help="run the Temporal worker only (needs DATABASE_URL)")
    commands.add_parser("projector", help="keep the read models up to date (needs DATABASE_URL)")
    commands.add_parser("migrate", help="bring DATABASE_URL to the latest schema")
    commands.add_parser("mailbox", help="list the messages in the embedded mailbox")
    commands.add_parser(
        "rebuild-projections",
        help="replay every event into empty read models (stop the workers first)",
    )
    for name in LEGAL_COMMANDS:
        commands.add_parser(name, help=f"legal calculator: {name} (see `recouvre {name} -h`)")
    return parser


def _mailbox(settings: Settings) -> int:
    from services.embedded.mailbox_server import read_mailbox

    for message in read_mailbox(settings.mail_dir):
        print(f"{message['Date']}  {message['To']:<32}  {message['Subject']}")
    return 0


async def _worker(settings: Settings) -> None:
    from services.worker import connect_worker_client, running_worker
    from storage.engine import make_engine

    engine = make_engine(settings.database_url)
    try:
        client = await connect_worker_client(settings)
        async with running_worker(client, settings, engine, projector=settings.run_projector):
            await asyncio.Event().wait()  # until interrupted
    finally:
        await engine.dispose()


async def _projector(settings: Settings) -> None:
    from eventstore.store import EventStore
    from projections.projector import run_projector
    from storage.engine import make_engine

    engine = make_engine(settings.database_url)
    try:
        await run_projector(engine, EventStore(engine), asyncio.Event())  # until interrupted
    finally:
        await engine.dispose()


async def _rebuild(settings: Settings) -> None:
    from eventstore.store import EventStore
    from projections.projector import rebuild
    from storage.engine import make_engine

    engine = make_engine(settings.database_url)
    try:
        count = await rebuild(engine, EventStore(engine))
        print(f"rebuilt the read models from {count} events")
    finally:
        await engine.dispose()


def _yield_to_the_api(settings: Settings) -> None:
    """Background processes (workers, projector) run at a lower CPU priority than the API
    (RECOUVRE_BACKGROUND_NICE), so that on a saturated machine a read is served at once
    and the timeline, which waits on timers anyway, takes the CPU left over."""
    if settings.background_nice > 0:
        os.nice(settings.background_nice)


def _dispatch(argv: list[str]) -> int:
    if argv and argv[0] in LEGAL_COMMANDS:
        from legal.cli import run as run_legal

        return run_legal(argv)
    args = _parser().parse_args(argv)
    settings = Settings()
    configure_logging(settings.log_format)  # RECOUVRE_LOG_FORMAT: text (default) or json
    if args.command == "run":
        from services.runner import run_service

        asyncio.run(run_service(settings))
    elif args.command == "api":
        import uvicorn

        from services.api.app import create_app

        uvicorn.run(create_app(settings), host=settings.api_host, port=settings.api_port)
    elif args.command == "worker":
        _yield_to_the_api(settings)
        asyncio.run(_worker(settings))
    elif args.command == "projector":
        _yield_to_the_api(settings)
        asyncio.run(_projector(settings))
    elif args.command == "migrate":
        from storage.migrate import upgrade_to_head

        asyncio.run(upgrade_to_head(settings.database_url))
    elif args.command == "mailbox":
        return _mailbox(settings)
    elif args.command == "rebuild-projections":
        asyncio.run(_rebuild(settings))
    return 0


def run(argv: list[str]) -> int:
    """Run one `recouvre` command in-process and return its exit code (what ``main``
    exits with); tests call it for the legal calculators."""
    try:
        return _dispatch(argv)
    except KeyboardInterrupt:
        return 130
    except ValueError as err:  # configuration errors: one clear line
        print(f"error: {err}", file=sys.stderr)
        return 2


def main() -> NoReturn:
    """Entry point. Exits with os._exit after flushing: the Temporal SDK's native threads
    can crash interpreter shutdown (see docs/operations.md)."""
    code = run(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
