"""`recouvre run` (what `make run` starts) as a user gets it: the API in one process, the
worker and the projector in processes of their own, supervised (a killed worker comes
back) and all stopped by one Ctrl-C."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import httpx

from services.api.case_ids import case_id_for
from tests.faults.figures import report
from tests.support.invoices import invoice_payload
from tests.support.mailbox import text_of, wait_for_messages
from tests.support.processes import eventually
from tests.support.serving import free_port

BANNER = "recouvre is running"
PORTAL_LINK = re.compile(r"Payer en ligne : (\S+)")


def _children(log: str) -> dict[str, int]:
    """name -> pid of the latest start of each supervised child, from the runner's log."""
    found: dict[str, int] = {}
    for name, pid in re.findall(r"recouvre\.supervisor (\S+) started \(pid (\d+)\)", log):
        found[name] = int(pid)
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_the_runner_supervises_separate_processes_and_stops_them_all() -> None:
    folder = Path(tempfile.mkdtemp(prefix="recouvre-run-"))
    log_path = folder / "run.log"
    api_port = free_port()
    env = {
        **os.environ,
        "RECOUVRE_VAR_DIR": str(folder / "var"),
        "API_PORT": str(api_port),
        "TEMPORAL_PORT": str(free_port()),
        "TEMPORAL_UI_PORT": str(free_port()),
        "SMTP_PORT": str(free_port()),
        "REGISTERED_MAIL_SANDBOX_PORT": str(free_port()),
        "RECOUVRE_WORKERS": "1",
    }
    for inherited in ("DATABASE_URL", "TEMPORAL_ADDRESS", "SMTP_HOST", "RECOUVRE_API_KEYS"):
        env.pop(inherited, None)
    command = [sys.executable, "-c", "from services.cli.main import main; main()", "run"]
    with log_path.open("w") as log:
        runner = await asyncio.create_subprocess_exec(
            *command, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:

        async def started() -> str:
            await asyncio.sleep(0.5)
            return log_path.read_text()

        banner = await eventually(
            started, lambda text: BANNER in text and len(_children(text)) == 2, within_s=120
        )
        keys = dict(re.findall(r"^\s+(erp|operator)\s+tenant \S+\s+(\S+)$", banner, re.M))
        first = _children(banner)
        assert set(first) == {"worker-1", "projector"}
        assert runner.pid not in first.values(), "workflows never run in the API's process"

        os.kill(first["worker-1"], signal.SIGKILL)
        text = await eventually(
            started, lambda t: _children(t).get("worker-1") not in (None, first["worker-1"])
        )
        restarted = _children(text)["worker-1"]

        base = f"http://127.0.0.1:{api_port}"
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            created = await http.post(
                "/v1/invoices",
                json=invoice_payload(policy="demo"),
                headers={"Authorization": f"Bearer {keys['erp']}"},
            )
            assert created.status_code == 201, created.text
            case_id = created.json()["case_id"]

            async def case() -> dict[str, object]:
                await asyncio.sleep(0.5)
                answer = await http.get(
                    f"/v1/cases/{case_id}",
                    headers={"Authorization": f"Bearer {keys['operator']}"},
                )
                return dict(answer.json())

            worked = await eventually(
                case,
                lambda c: any(a["step"] == "reminder_1" for a in c.get("actions", [])),  # type: ignore[attr-defined]
                within_s=60,
            )
            # The reminder links to this API's debtor portal, and the link opens the claim.
            [reminder, *_] = await wait_for_messages(folder / "var" / "mail", case_id, 1)
            link = PORTAL_LINK.search(text_of(reminder))
            assert link is not None and link[1].startswith(f"{base}/portail/"), text_of(reminder)
            claim = await http.get(link[1])
            assert claim.status_code == 200 and "Votre dossier" in claim.text, claim.text[:300]
            # The runner registered today's demo case for the console (RECOUVRE_DEMO_CASE).
            tenant = re.search(r"^\s+erp\s+tenant (\S+)", banner, re.M)
            assert tenant is not None
            demo_number = f"DEMO-{datetime.now(UTC).date():%Y%m%d}"
            demo = await http.get(
                f"/v1/cases/{case_id_for(tenant[1], demo_number)}",
                headers={"Authorization": f"Bearer {keys['operator']}"},
            )
        runner.send_signal(signal.SIGINT)  # Ctrl-C
        code = await asyncio.wait_for(runner.wait(), 60)
        pids = [*first.values(), restarted]
        left = [pid for pid in pids if _alive(pid)]
    finally:
        if runner.returncode is None:
            runner.kill()
            await runner.wait()

    report(
        "make run processes",
        children=len(first),
        worker_restarts=1,
        reminder_1="sent" if worked else "missing",
        exit_code=code,
        left_running=len(left),
    )
    assert demo.status_code == 200, demo.text
    assert (demo.json()["invoice_number"], demo.json()["policy_id"]) == (demo_number, "demo")
    assert restarted != first["worker-1"]
    assert left == [], f"processes left after Ctrl-C: {left}"
    assert code in (0, 130), f"the runner exited with {code}"
