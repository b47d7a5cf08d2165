"""A conversation continued on another channel, as the person does it: a code
asked for in the conversation, said on the other channel, and confirmed back
in the conversation with the number the other channel was told (store/links.py)."""

from __future__ import annotations

from store.links import LINKED, PENDING, ConversationLinks


def continue_elsewhere(
    links: ConversationLinks, conversation: str, alias: str, channel: str
) -> None:
    """Links `alias` (on `channel`) to `conversation`, confirmed."""
    redeemed = links.redeem(links.issue_code(conversation), alias, channel)
    assert redeemed.outcome == PENDING and redeemed.confirmation is not None
    confirmed = links.confirm(conversation, redeemed.confirmation, conversation)
    assert confirmed.outcome == LINKED
