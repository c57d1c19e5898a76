"""One request on its way through the relay: what each step, and its one log line, share."""

from __future__ import annotations

from dataclasses import dataclass, field

from ._answer import Context
from ._request import PromptRequest
from ._tracing import NO_CALL, CallTrace
from ._translate import UpstreamCall

__all__ = ["Run", "Tally"]


@dataclass(slots=True)
class Tally:
    """The upstream calls a request made, as the gateway client counts them while it works."""

    attempts: int = 0
    # The gateway's log id for the answer that decided the call (an error it answered, or the
    # stream being relayed); None when the gateway gave none.
    gateway_log_id: str | None = None


@dataclass(slots=True)
class Run:
    """A request from the moment it arrived: who asked, for what, by when, and how it went.

    `call` and `trace` are filled in once the upstream call is built; a request refused before
    that (a bad body, a batch limit) is a Run with neither.
    """

    request_id: str
    started: float
    # The clock() value by which everything, every retry and every streamed byte, is done.
    deadline: float
    context: Context
    request: PromptRequest | None = None
    call: UpstreamCall | None = None
    trace: CallTrace = NO_CALL
    tally: Tally = field(default_factory=Tally)
