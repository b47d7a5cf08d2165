"""The handoff stores of every caller over one engine, as the tests play all sides:
the console's roster page, the dialogue, the gateway's relay and the console."""

from __future__ import annotations

from collections.abc import Mapping

from store.handoff import AssistantTickets, ConsoleTickets, RelayStore, Roster


def handoff_stores(
    env: Mapping[str, str],
) -> tuple[Roster, AssistantTickets, RelayStore, ConsoleTickets]:
    """Closing the roster closes the others: they share its engine."""
    roster = Roster.from_env(env)
    return (
        roster,
        AssistantTickets(roster.engine, roster.keys),
        RelayStore(roster.engine, roster.keys),
        ConsoleTickets(roster.engine, roster.keys),
    )
