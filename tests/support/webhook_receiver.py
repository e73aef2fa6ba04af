"""A real HTTP receiver for the ERP webhooks: it answers as told (fail, time out, answer
late), records every request it got and which ones it accepted, and checks nothing
itself: tests verify the signatures, by hand, from what it recorded."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request, Response

from tests.support.serving import serve


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    accepted: bool
    """The receiver answered 2xx (late or not)."""

    @property
    def payload(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed

    @property
    def event_id(self) -> str:
        return self.headers["recouvre-event-id"]


@dataclass
class Receiver:
    url: str
    script: list[str] = field(default_factory=list)
    """What to do with each case's requests, in turn (the n-th request about a case gets
    ``script[n]``): "fail" (500), "hang" (answer 200 after ``hang_s``), "late" (answer 200
    after ``late_s``); "ok" past its end. Per case: the subscription also gets the
    tenant's other cases' events, which must not use up a test's script."""
    hang_s: float = 2.5
    late_s: float = 0.4
    received: list[Received] = field(default_factory=list)
    in_flight: list[str] = field(default_factory=list)
    """The cases of the requests still being answered (late)."""
    got_one: asyncio.Event = field(default_factory=asyncio.Event)
    """Set at each request received."""

    def record(self, received: Received) -> None:
        self.received.append(received)
        self.got_one.set()

    def for_case(self, case_id: str) -> list[Received]:
        return [r for r in self.received if r.payload["data"]["case_id"] == case_id]

    def accepted(self, case_id: str) -> list[Received]:
        return [r for r in self.for_case(case_id) if r.accepted]

    async def wait_for(self, case_id: str, event_type: str, timeout_s: float = 30.0) -> None:
        async def arrived() -> None:
            while not any(r.payload["type"] == event_type for r in self.accepted(case_id)):
                self.got_one.clear()
                await self.got_one.wait()

        await asyncio.wait_for(arrived(), timeout_s)


def receiver_app(receiver: Receiver) -> FastAPI:
    app = FastAPI()

    @app.post("/hook")
    async def hook(request: Request) -> Response:
        body = await request.body()
        case_id = json.loads(body)["data"]["case_id"]
        seen = len(receiver.for_case(case_id)) + receiver.in_flight.count(case_id)
        action = receiver.script[seen] if seen < len(receiver.script) else "ok"
        headers = {k.lower(): v for k, v in request.headers.items()}
        if action == "fail":
            receiver.record(Received(headers, body, accepted=False))
            return Response(status_code=500, content=b"ERP down for maintenance")
        if action in ("hang", "late"):
            receiver.in_flight.append(case_id)
            await asyncio.sleep(receiver.hang_s if action == "hang" else receiver.late_s)
            receiver.in_flight.remove(case_id)
        receiver.record(Received(headers, body, accepted=True))
        return Response(status_code=204)

    return app


@contextlib.asynccontextmanager
async def running_receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver(url="")
    async with serve(receiver_app(receiver)) as base_url:
        receiver.url = f"{base_url}/hook"
        yield receiver
