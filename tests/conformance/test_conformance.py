"""Every behaviour of the table against every candidate client, in one run. Rows a candidate is
known to get wrong are strict xfails (a change in that candidate flips the test); the client the
gateway runs on (candidates.CHOSEN) must get every row right."""

from __future__ import annotations

import pytest

from .behaviours import BEHAVIOURS, KNOWN_WRONG, Behaviour
from .candidates import CANDIDATES, CHOSEN, WHOLE_BODY
from .runner import verdict


def _cases() -> list[object]:
    cases: list[object] = []
    for behaviour in BEHAVIOURS:
        for name in CANDIDATES:
            marks = []
            wrong = KNOWN_WRONG.get((behaviour.name, name))
            if wrong is not None:
                assert name not in (CHOSEN, *WHOLE_BODY), f"{name} must get {behaviour.name} right"
                marks.append(pytest.mark.xfail(reason=wrong, strict=True))
            cases.append(pytest.param(behaviour, name, marks=marks, id=f"{behaviour.name}-{name}"))
    return cases


@pytest.mark.parametrize(("behaviour", "candidate"), _cases())
def test_behaviour(behaviour: Behaviour, candidate: str) -> None:
    wrong = verdict(CANDIDATES[candidate], behaviour, whole=candidate in WHOLE_BODY)
    assert wrong is None, f"{candidate} on {behaviour.says}: {wrong}"
