"""A recorded session walked through, for the debrief timeline and a resumed monitor (no Qt here).

The state at any point of a session is folded from the logged facts
(:func:`simulator.procedure.fold`: nothing is executed again, a few milliseconds); a shot is
drawn again from the state just before it (:func:`simulator.procedure.take_shot`, seeded as the
session was, so it is the image the trainee saw).

Examples
--------
>>> loaded = load_session("out/sessions/s1.jsonl")                      # doctest: +SKIP
>>> [record["command"]["do"] for _, record, _ in walk(loaded, scene)][:2]  # doctest: +SKIP
['tick', 'tick']
"""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType
from typing import Iterator

from simulator.procedure import ProcedureState, fold, initial_state

__all__ = ["start_state", "walk", "state_after"]


def start_state(loaded, scene=None) -> ProcedureState:
    """The state before the first command of ``loaded`` (a :class:`~simulator.session.LoadedSession`),
    with the C-arm where the session's header says it started."""
    state = initial_state(loaded.scenario, scene)
    if "carm" in loaded.header:
        state = replace(state, carm=MappingProxyType(dict(loaded.header["carm"])))
    return state


def walk(loaded, scene=None, stop: int | None = None) -> Iterator[tuple[int, dict, ProcedureState]]:
    """Each of the first ``stop`` records (all by default) with its index and the state just before it."""
    state = start_state(loaded, scene)
    for number, record in enumerate(loaded.records[:stop]):
        yield number, record, state
        state = fold(state, record["facts"], record["t_s"])


def state_after(loaded, index: int, scene=None) -> ProcedureState:
    """The state after the first ``index`` records."""
    state = start_state(loaded, scene)
    for record in loaded.records[:index]:
        state = fold(state, record["facts"], record["t_s"])
    return state
