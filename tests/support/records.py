"""One person's records in every table, made through the stores, and Rasa's
conversation through the real tracker store: for the retention, erasure and
key-rotation tests."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from rasa_ext.tracker_store import FORGET_SLOT, RollingSessionTrackerStore
from store.crypto import KeyRing
from store.intake import IntakeStore
from store.links import ConversationLinks
from tests.support.links import continue_elsewhere
from tests.test_handoff_store import PII_KEY as OLD_KEY
from tests.test_handoff_store import Centre, request
from tests.test_store import application, fixed_key

NEW_KEY = fixed_key("n", 0x6E)
SENDER = "tg-chat-5550123"
ALIAS = "wechat:o6_bmjrPTlm6_2sgVt7hMZOPfL2M"
SAID = "我叫王小明，电话13912345678，身份证15020719800101123X"

DOMAIN = Domain.from_yaml(
    f"""
version: "3.1"
intents: [greet]
slots:
  region:
    type: text
    mappings: [{{type: custom}}]
  {FORGET_SLOT}:
    type: bool
    influence_conversation: false
    mappings: [{{type: custom}}]
responses:
  utter_greet: [{{text: "您好"}}]
"""
)


def tracker_store(url: str, pii_key: str) -> RollingSessionTrackerStore:
    return RollingSessionTrackerStore(domain=DOMAIN, host=url, keys=KeyRing.parse(pii_key))


async def talk(store: RollingSessionTrackerStore, sender: str, said: str, forget: bool = False):
    """One turn as Rasa takes it: retrieve, the turn's events, save."""
    tracker = await store.retrieve(sender) or DialogueStateTracker(sender, DOMAIN.slots)
    tracker.update(UserUttered(said, {"name": "greet", "confidence": 1.0}))
    tracker.update(ActionExecuted("utter_greet"))
    tracker.update(BotUttered(f"您说：{said}"))
    if forget:
        tracker.update(SlotSet(FORGET_SLOT, True))
    tracker.update(ActionExecuted("action_listen"))
    await store.save(tracker)


def user_texts(tracker: DialogueStateTracker | None) -> list[str]:
    return [] if tracker is None else [e.text for e in tracker.events if isinstance(e, UserUttered)]


@dataclass
class Person:
    reference: str
    ticket: str


def make_person(url: str, centre: Centre, status: str = "new") -> Person:
    """An application (with a staff note), its ticket claimed with a message each
    way and a note, and the conversation continued on WeChat."""
    env = {"DATABASE_URL": url, "PII_KEY": OLD_KEY}
    intakes = IntakeStore.from_env(env)
    reference = intakes.submit(application(conversation_id=SENDER)).reference
    if status != "new":
        intakes.set_status(reference, status, "staff:wang", note="已联系王小明")
    intakes.close()
    ticket = centre.tickets.create_ticket(request(SENDER, intake_reference=reference)).reference
    centre.console.claim(ticket, "wang")
    centre.console.send_message(ticket, "王小明您好，请带上欠条", "wang")
    centre.relay.add_person_message(SENDER, "我的电话是13912345678")
    centre.console.add_note(ticket, "王小明有残疾证", "wang")
    links = ConversationLinks(centre.roster.engine, centre.roster.keys)
    continue_elsewhere(links, SENDER, ALIAS, "wechat")
    links.issue_code(SENDER)  # a live code too
    return Person(reference, ticket)


def count(url: str, table: str) -> int:
    engine = sa.create_engine(url, future=True)
    try:
        with engine.connect() as connection:
            return connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar()
    finally:
        engine.dispose()


def all_text(url: str, tables: list[str]) -> str:
    engine = sa.create_engine(url, future=True)
    try:
        with engine.connect() as connection:
            return "\n".join(
                str(list(row))
                for table in tables
                for row in connection.execute(sa.text(f"SELECT * FROM {table}"))
            )
    finally:
        engine.dispose()
