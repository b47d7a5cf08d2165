"""接续码 in the store, on a SQLite file and a PostgreSQL server: a code makes a
pending link for a sender on another channel, once, for ten minutes; the link
is made only when the number it gave is confirmed in the conversation (a
hotline call's code links at once); guesses of codes and numbers are limited,
and neither a code, a number nor an id is kept in clear."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from store import migrate
from store.handoff import AssistantTickets, RelayStore
from store.links import (
    CONFIRMATION_LIFETIME,
    GUESSES_PER_SENDER,
    LINKED,
    PENDING,
    SAME,
    TOO_MANY,
    WRONG,
    ConversationLinks,
    code_lifetime,
)
from store.models import utc_now
from tests.support.links import continue_elsewhere
from tests.test_handoff_store import PII_KEY, request

WEB = "web-5f3c9a17b2"
TELEGRAM = "telegram:5550123"


@pytest.fixture
def links(migrated_url):
    opened = ConversationLinks.from_env({"DATABASE_URL": migrated_url, "PII_KEY": PII_KEY})
    yield opened
    opened.close()


def test_the_revision_matches_the_models(migrated_url):
    migrate.check(migrated_url)


def other_than(number: str) -> str:
    """A number of the same length that is not `number`."""
    return "".join(str((int(digit) + 1) % 10) for digit in number)


def test_a_code_links_the_other_channel_once_confirmed(links):
    code = links.issue_code(WEB)
    assert len(code) == 8 and code.isdigit()  # not to be guessed, easy to say
    assert links.conversation_of(TELEGRAM) is None  # nothing before the person says so

    said = links.redeem(code, TELEGRAM, "telegram")
    assert (said.outcome, said.conversation_id) == (PENDING, WEB)
    number = said.confirmation
    assert len(number) == 4 and number.isdigit()
    # Whoever said the code continues nothing yet: it is confirmed where it was given.
    assert links.conversation_of(TELEGRAM) is None
    assert not links.take_confirmed(TELEGRAM)

    confirmed = links.confirm(WEB, number, WEB)
    assert (confirmed.outcome, confirmed.channel) == (LINKED, "telegram")
    assert links.conversation_of(TELEGRAM) == WEB
    assert links.conversation_of(WEB) is None  # the conversation stays its own
    assert links.take_confirmed(TELEGRAM)  # its next turn is told, once
    assert not links.take_confirmed(TELEGRAM)
    assert links.confirm(WEB, number, WEB).outcome == WRONG  # once

    again = links.redeem(code, "telegram:999", "telegram")
    assert again.outcome == WRONG and links.conversation_of("telegram:999") is None


def test_the_number_is_confirmed_only_in_the_conversation_it_was_given_for(links):
    said = links.redeem(links.issue_code(WEB), TELEGRAM, "telegram")
    # The channel that said the code cannot confirm it itself, nor can another conversation.
    assert links.confirm(TELEGRAM, said.confirmation, TELEGRAM).outcome == WRONG
    assert links.confirm("web-someone-else", said.confirmation, "web-x").outcome == WRONG
    assert links.conversation_of(TELEGRAM) is None
    assert links.confirm(WEB, said.confirmation, WEB).outcome == LINKED


def test_a_wrong_number_counts_as_a_guess(links):
    said = links.redeem(links.issue_code(WEB), TELEGRAM, "telegram")
    wrong = other_than(said.confirmation)
    for _ in range(GUESSES_PER_SENDER):
        assert links.confirm(WEB, wrong, WEB).outcome == WRONG
    assert links.conversation_of(TELEGRAM) is None
    # Even the right number is refused now: guessing further gains nothing.
    assert links.confirm(WEB, said.confirmation, WEB).outcome == TOO_MANY
    assert links.conversation_of(TELEGRAM) is None


def test_a_pending_link_expires(links):
    now = utc_now()
    said = links.redeem(links.issue_code(WEB, now=now), TELEGRAM, "telegram", now=now)
    late = now + CONFIRMATION_LIFETIME + timedelta(seconds=1)
    assert links.confirm(WEB, said.confirmation, WEB, now=late).outcome == WRONG
    assert links.conversation_of(TELEGRAM) is None
    assert not links.take_confirmed(TELEGRAM)


def test_a_newer_code_said_replaces_the_pending_link(links):
    first = links.redeem(links.issue_code(WEB), TELEGRAM, "telegram")
    second = links.redeem(links.issue_code(WEB), "wechat:o6_bmjrPTlm6", "wechat")
    assert second.outcome == PENDING
    assert links.confirm(WEB, first.confirmation, WEB).outcome in (WRONG, LINKED)
    assert links.conversation_of(TELEGRAM) is None  # the older one links nothing
    if first.confirmation != second.confirmation:  # one in ten thousand: the same number
        assert links.confirm(WEB, second.confirmation, WEB).outcome == LINKED
    assert links.conversation_of("wechat:o6_bmjrPTlm6") == WEB


def test_a_linked_sender_of_the_conversation_can_confirm(links):
    continue_elsewhere(links, WEB, TELEGRAM, "telegram")
    said = links.redeem(links.issue_code(WEB), "wechat:o6_bmjrPTlm6", "wechat")
    # The person now on Telegram confirms: the conversation is the same.
    assert links.confirm(WEB, said.confirmation, TELEGRAM).outcome == LINKED
    assert links.conversation_of("wechat:o6_bmjrPTlm6") == WEB


def test_a_hotline_code_links_at_once(links):
    """The caller cannot come back to the same call to confirm; the code was only
    read into the caller's ear."""
    call = "hotline:1700000000.42"
    linked = links.redeem(links.issue_code(call), TELEGRAM, "telegram")
    assert (linked.outcome, linked.conversation_id, linked.confirmation) == (LINKED, call, None)
    assert links.conversation_of(TELEGRAM) == call


def test_the_lifetime_is_configured():
    assert code_lifetime({}) == timedelta(minutes=10)
    assert code_lifetime({"CONTINUATION_CODE_MINUTES": "30"}) == timedelta(minutes=30)
    with pytest.raises(ValueError):
        code_lifetime({"CONTINUATION_CODE_MINUTES": "0"})


def test_a_code_lives_as_long_as_it_was_issued_for(links):
    now = utc_now()
    code = links.issue_code(WEB, now=now, lifetime=timedelta(minutes=30))
    in_time = links.redeem(code, TELEGRAM, "telegram", now=now + timedelta(minutes=29))
    assert in_time.outcome == PENDING


def test_a_code_expires_after_ten_minutes(links):
    now = utc_now()
    code = links.issue_code(WEB, now=now)
    late = links.redeem(code, TELEGRAM, "telegram", now=now + timedelta(minutes=10, seconds=1))
    assert late.outcome == WRONG
    assert links.conversation_of(TELEGRAM) is None
    fresh = links.issue_code(WEB, now=now)
    in_time = links.redeem(fresh, TELEGRAM, "telegram", now=now + timedelta(minutes=9))
    assert in_time.outcome == PENDING


def test_the_code_said_where_it_was_given_links_nothing(links):
    code = links.issue_code(WEB)
    assert links.redeem(code, WEB, "web").outcome == SAME
    assert links.conversation_of(WEB) is None


def test_guesses_are_limited_per_sender(links):
    code = links.issue_code(WEB)
    wrong = "00000000" if code != "00000000" else "11111111"
    for _ in range(GUESSES_PER_SENDER):
        assert links.redeem(wrong, TELEGRAM, "telegram").outcome == WRONG
    # Even the right code is refused now: guessing further gains nothing.
    assert links.redeem(code, TELEGRAM, "telegram").outcome == TOO_MANY
    assert links.conversation_of(TELEGRAM) is None
    # Another sender is not held up, and the code is still good for them.
    assert links.redeem(code, "wechat:o6_bmjrPTlm6", "wechat").outcome == PENDING


def test_guesses_count_again_after_the_window(links):
    now = utc_now()
    links.issue_code(WEB, now=now)
    for _ in range(GUESSES_PER_SENDER):
        links.redeem("12345", TELEGRAM, "telegram", now=now)
    later = now + timedelta(minutes=10, seconds=1)
    fresh = links.issue_code(WEB, now=later)
    assert links.redeem(fresh, TELEGRAM, "telegram", now=later).outcome == PENDING


def test_only_hashes_and_ciphertexts_at_rest(links, migrated_url):
    code = links.issue_code(WEB)
    links.issue_code("web-other-conversation")
    said = links.redeem(code, TELEGRAM, "telegram")
    links.confirm(WEB, said.confirmation, WEB)
    waiting = links.redeem(links.issue_code("web-third"), "wechat:o6_5550199", "wechat")
    links.redeem("99999999" if code != "99999999" else "88888888", "telegram:777", "telegram")
    engine = sa.create_engine(migrated_url, future=True)
    tables = ("continuation_codes", "conversation_links", "pending_links", "continuation_guesses")
    with engine.connect() as connection:
        rows = "\n".join(
            str(list(row))
            for table in tables
            for row in connection.execute(sa.text(f"SELECT * FROM {table}"))
        )
    engine.dispose()
    assert rows  # something is stored
    clears = (code, WEB, TELEGRAM, "5550123", "web-other-conversation", "telegram:777")
    for clear in (*clears, "web-third", "o6_5550199", f"'{waiting.confirmation}'"):
        assert clear not in rows


def test_a_lawyer_message_goes_to_the_channel_the_person_moved_to(links, migrated_url):
    relay = RelayStore(links.engine, links.keys)
    ticket = AssistantTickets(links.engine, links.keys).create_ticket(request(WEB, channel="rest"))
    assert relay.relay_route(ticket.reference) == (WEB, "rest", WEB)

    said = links.redeem(links.issue_code(WEB), TELEGRAM, "telegram")
    assert relay.relay_route(ticket.reference) == (WEB, "rest", WEB)  # not before confirmed
    links.confirm(WEB, said.confirmation, WEB)
    assert relay.relay_route(ticket.reference) == (WEB, "telegram", TELEGRAM)
    # The ticket itself is unchanged: the relay still finds it by the conversation.
    assert relay.open_ticket_for(WEB) == ticket.reference
    assert relay.relay_target(ticket.reference) == ("rest", WEB)
