"""A local stand-in for Cloudflare AI Gateway in front of OpenAI.

Serves ``POST /v1/{account}/{gateway}/openai/responses`` and ``.../openai/chat/completions``
(and dynamic routes on the unified ``.../compat/chat/completions``, see ``_routes``) with
deterministic answers in the real wire format (see ``_plan`` and ``_render``), checks the
gateway token and the provider key the way the gateway does, caches like the gateway, and plays
fault scripts for reliability tests (see ``_faults``).

Order of work for a request to an OpenAI route:

1. gateway auth (``cf-aig-authorization``) -> 401 AiGatewayError;
2. provider key (``Authorization``) -> OpenAI 401 ``invalid_api_key``, or a gateway 400 when the
   gateway requires a key and none came (no ``Authorization`` is otherwise fine: BYOK);
3. the fault step for this attempt (``emulator_fault`` in ``cf-aig-metadata``; attempts are
   counted per distinct ``cf-aig-metadata`` header string, so tests add a nonce);
4. the cache, for ``ok`` steps only: a fresh entry answers at once (``HIT``, no delay);
5. the delay (``delay_ms``, or ``emulator_delay_ms`` in the metadata), before the first byte;
6. the fault step's answer, or else request validation (OpenAI 400s) and the normal answer,
   stored in the cache when caching was asked for.

Tool loop (see ``_toolloop``): a request carrying tool calls or tool outputs has each message or
item checked against the openai package's request types, every output must answer a call made
earlier in the same request and every call must be answered (OpenAI's 400 bodies otherwise), and
the answer is ``Tool <name> returned: <output>`` for the outputs that end the request.

Fault steps (``_faults``: ``ok``, status steps, ``drop``, ``stall``, ``notjson``, ``badjson``,
``trickle``, ``midstream``, and suffixes for retry headers) and the cache's rules (``_cache``) are
described where they are implemented.

Gateway controls (``_controls``): the request's ``cf-aig-request-timeout``, collect-log, ZDR, BYOK
alias and OpenTelemetry headers are checked after auth (a malformed one answers a gateway 400);
fault-script suffixes add the routing and DLP response headers, and block steps play guardrail and
DLP verdicts (see ``_faults``).

Run in-process with ``GatewayEmulator(...).start()`` (own event loop in a daemon thread, see
``emulators._server``) or as ``python -m emulators.gateway --port 8787 --token T`` (``__main__``).
"""

from __future__ import annotations

from emulators.gateway._controls import INVALID_CONTROL_CODE
from emulators.gateway._emulator import GatewayEmulator, RecordedRequest

__all__ = ["INVALID_CONTROL_CODE", "GatewayEmulator", "RecordedRequest"]
