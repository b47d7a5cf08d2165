"""接续码 in the store, on a SQLite file and a PostgreSQL server: a code links a
sender on another channel to the conversation once, for ten minutes, guesses
are limited, and neither the code nor an id is kept in clear."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from store import migrate
from store.handoff import AssistantTickets, RelayStore
from store.links import (
    GUESSES_PER_SENDER,
    LINKED,
    SAME,
    TOO_MANY,
    WRONG,
    ConversationLinks,
    code_lifetime,
)
from store.models import utc_now
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


def test_a_code_links_the_other_channel_once(links):
    code = links.issue_code(WEB)
    assert len(code) == 8 and code.isdigit()  # not to be guessed, easy to say
    assert links.conversation_of(TELEGRAM) is None  # nothing before the person says so

    linked = links.redeem(code, TELEGRAM, "telegram")
    assert (linked.outcome, linked.conversation_id) == (LINKED, WEB)
    assert links.conversation_of(TELEGRAM) == WEB
    assert links.conversation_of(WEB) is None  # the conversation stays its own

    again = links.redeem(code, "telegram:999", "telegram")
    assert again.outcome == WRONG and links.conversation_of("telegram:999") is None


def test_the_lifetime_is_configured():
    assert code_lifetime({}) == timedelta(minutes=10)
    assert code_lifetime({"CONTINUATION_CODE_MINUTES": "30"}) == timedelta(minutes=30)
    with pytest.raises(ValueError):
        code_lifetime({"CONTINUATION_CODE_MINUTES": "0"})


def test_a_code_lives_as_long_as_it_was_issued_for(links):
    now = utc_now()
    code = links.issue_code(WEB, now=now, lifetime=timedelta(minutes=30))
    in_time = links.redeem(code, TELEGRAM, "telegram", now=now + timedelta(minutes=29))
    assert in_time.outcome == LINKED


def test_a_code_expires_after_ten_minutes(links):
    now = utc_now()
    code = links.issue_code(WEB, now=now)
    late = links.redeem(code, TELEGRAM, "telegram", now=now + timedelta(minutes=10, seconds=1))
    assert late.outcome == WRONG
    assert links.conversation_of(TELEGRAM) is None
    fresh = links.issue_code(WEB, now=now)
    in_time = links.redeem(fresh, TELEGRAM, "telegram", now=now + timedelta(minutes=9))
    assert in_time.outcome == LINKED


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
    assert links.redeem(code, "wechat:o6_bmjrPTlm6", "wechat").outcome == LINKED


def test_guesses_count_again_after_the_window(links):
    now = utc_now()
    links.issue_code(WEB, now=now)
    for _ in range(GUESSES_PER_SENDER):
        links.redeem("12345", TELEGRAM, "telegram", now=now)
    later = now + timedelta(minutes=10, seconds=1)
    fresh = links.issue_code(WEB, now=later)
    assert links.redeem(fresh, TELEGRAM, "telegram", now=later).outcome == LINKED


def test_only_hashes_and_ciphertexts_at_rest(links, migrated_url):
    code = links.issue_code(WEB)
    links.issue_code("web-other-conversation")
    links.redeem(code, TELEGRAM, "telegram")
    links.redeem("99999999" if code != "99999999" else "88888888", "telegram:777", "telegram")
    engine = sa.create_engine(migrated_url, future=True)
    with engine.connect() as connection:
        rows = "\n".join(
            str(list(row))
            for table in ("continuation_codes", "conversation_links", "continuation_guesses")
            for row in connection.execute(sa.text(f"SELECT * FROM {table}"))
        )
    engine.dispose()
    assert rows  # something is stored
    for clear in (code, WEB, TELEGRAM, "5550123", "web-other-conversation", "telegram:777"):
        assert clear not in rows


def test_a_lawyer_message_goes_to_the_channel_the_person_moved_to(links, migrated_url):
    relay = RelayStore(links.engine, links.keys)
    ticket = AssistantTickets(links.engine, links.keys).create_ticket(request(WEB, channel="rest"))
    assert relay.relay_route(ticket.reference) == (WEB, "rest", WEB)

    links.redeem(links.issue_code(WEB), TELEGRAM, "telegram")
    assert relay.relay_route(ticket.reference) == (WEB, "telegram", TELEGRAM)
    # The ticket itself is unchanged: the relay still finds it by the conversation.
    assert relay.open_ticket_for(WEB) == ticket.reference
    assert relay.relay_target(ticket.reference) == ("rest", WEB)
