"""The event core loads on the first message only: neither `import main` nor the HTTP path's
first answer imports `relay.events` or the push and CloudEvent adapters."""

from __future__ import annotations

import subprocess
import sys

from emulators.gateway import GatewayEmulator
from tests.support.paths import ROOT

EVENT_MODULES = ("relay.events", "handlers.push", "handlers.event")

_FIRST_ANSWER = """
import asyncio, sys
import main
from starlette.requests import Request

loaded_by_import = sorted(m for m in sys.modules if m.startswith(EVENT_MODULES))


async def first_answer():
    sent = False

    async def receive():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": b'{"prompt": "hi"}', "more_body": False}
        await asyncio.Event().wait()  # the caller stays: no disconnect

    scope = {
        "type": "http", "method": "POST", "path": "/", "query_string": b"",
        "headers": [(b"content-type", b"application/json")],
    }
    return (await main.prompt(Request(scope, receive))).status_code


status = asyncio.run(first_answer())
print(status, loaded_by_import, sorted(m for m in sys.modules if m.startswith(EVENT_MODULES)))
"""


def test_http_first_answer_loads_no_event_module(gateway: GatewayEmulator) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "AIG_BASE_URL": gateway.base_url(),
        "AIG_TOKEN": gateway.token,
        "GOOGLE_CLOUD_PROJECT": "test-project",
        # With sinks configured too: still nothing of the event path until a message comes.
        "RESULTS_TOPIC": "results",
        "RESULTS_BUCKET": "results-bucket",
    }
    code = f"EVENT_MODULES = {EVENT_MODULES!r}\n{_FIRST_ANSWER}"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "200 [] []"
