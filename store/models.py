"""The store's tables. Personal data is only ever in the `*_encrypted` columns,
each declared in store/encrypted_columns.py.

Each feature's tables come with their own Alembic revision: 0001 the intake
store, 0002 the handoff (lawyers, duty roster, staff accounts, tickets, messages),
0003 the conversation figures (no personal data), 0004 ticket notes and the relay's
progress, 0005 conversations continued on another channel (接续码), 0006 hotline
call records (no audio, no number), 0007 the application's conversation id
(encrypted, for key rotation), 0008 pending links (a 接续码 waiting for its
confirmation on the original channel), 0009 messages not understood, masked,
for coordinators to label (store/training.py).
"""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.orm import declarative_base, relationship

# Explicit constraint names: Alembic can then alter or drop them on every
# database, and the migration names them exactly as the models do.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Base = declarative_base(metadata=sa.MetaData(naming_convention=NAMING_CONVENTION))

# Status of an application and the changes staff may make. A refusal after
# review (不予法律援助) closes an application without assigning it; the
# applicant may withdraw at any time until it is closed.
STATUSES = ("new", "under_review", "assigned", "closed", "withdrawn")
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    "new": frozenset({"under_review", "withdrawn"}),
    "under_review": frozenset({"assigned", "closed", "withdrawn"}),
    "assigned": frozenset({"closed", "withdrawn"}),
    "closed": frozenset(),
    "withdrawn": frozenset(),
}

STATUS_CHECK = "status IN ('new', 'under_review', 'assigned', 'closed', 'withdrawn')"


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(sa.types.TypeDecorator):
    """Timezone-aware UTC datetimes on every database.

    SQLite keeps no time zone and hands back naive values; they are stored as UTC
    here, so they are read back as UTC.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.engine.Dialect) -> object:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: sa.engine.Dialect) -> object:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Intake(Base):
    """An application for legal aid (申请登记)."""

    __tablename__ = "intakes"
    __table_args__ = (sa.CheckConstraint(STATUS_CHECK, name="status"),)

    id = sa.Column(sa.Integer, primary_key=True)
    # FY-<year>-<id, 6 digits>; set in the same transaction as the insert, once
    # the id is known (hence nullable).
    reference = sa.Column(sa.String(24), unique=True)
    # Chosen by the dialogue so that a retried submit stores nothing twice. It
    # must be opaque (a random id), never a phone number or a sender id.
    application_key = sa.Column(sa.String(128), nullable=False, unique=True)
    status = sa.Column(sa.String(16), nullable=False)
    created_at = sa.Column(UTCDateTime, nullable=False)
    updated_at = sa.Column(UTCDateTime, nullable=False)

    # Not personal: what staff lists sort and filter by.
    channel = sa.Column(sa.String(16), nullable=False)
    region = sa.Column(sa.String(32), nullable=False)
    matter_type = sa.Column(sa.String(64), nullable=False)
    advance_aid = sa.Column(sa.Boolean, nullable=False)
    urgent = sa.Column(sa.Boolean, nullable=False)

    # Personal data, encrypted, each bound to its column (store/encrypted_columns.py).
    name_encrypted = sa.Column(sa.Text, nullable=False)
    phone_encrypted = sa.Column(sa.Text, nullable=False)
    id_number_encrypted = sa.Column(sa.Text)
    disability_certificate_encrypted = sa.Column(sa.Text)
    description_encrypted = sa.Column(sa.Text, nullable=False)
    # Everything else personal, as one encrypted JSON object (see store.intake).
    details_encrypted = sa.Column(sa.Text, nullable=False)

    # The conversation id, encrypted (revision 0007): only so that key rotation can
    # recompute `conversation_lookup`; never shown. NULL for older applications.
    conversation_encrypted = sa.Column(sa.Text)

    # Keyed hashes (`<kid>:<hex>`), to find applications without decrypting.
    phone_lookup = sa.Column(sa.String(80), nullable=False, index=True)
    conversation_lookup = sa.Column(sa.String(80), nullable=False, index=True)

    statuses = relationship(
        "IntakeStatus", back_populates="intake", order_by="IntakeStatus.id", lazy="raise"
    )


class IntakeStatus(Base):
    """One status an application was given: its history, newest last."""

    __tablename__ = "intake_statuses"
    __table_args__ = (sa.CheckConstraint(STATUS_CHECK, name="status"),)

    id = sa.Column(sa.Integer, primary_key=True)
    intake_id = sa.Column(sa.Integer, sa.ForeignKey("intakes.id"), nullable=False, index=True)
    status = sa.Column(sa.String(16), nullable=False)
    changed_at = sa.Column(UTCDateTime, nullable=False)
    changed_by = sa.Column(sa.String(64), nullable=False)
    # Staff notes may name people: encrypted like the record itself.
    note_encrypted = sa.Column(sa.Text)

    intake = relationship("Intake", back_populates="statuses", lazy="raise")


class AuditEntry(Base):
    """Who did what to which application, and why. Never personal data."""

    __tablename__ = "audit_entries"

    id = sa.Column(sa.Integer, primary_key=True)
    at = sa.Column(UTCDateTime, nullable=False, index=True)
    actor = sa.Column(sa.String(64), nullable=False)
    action = sa.Column(sa.String(32), nullable=False)
    reference = sa.Column(sa.String(24), index=True)
    purpose = sa.Column(sa.String(200), nullable=False)
    # What else the action touched, without personal data: "3 records", "csv".
    detail = sa.Column(sa.String(200), nullable=False, default="")


# Handoff to a lawyer on duty (revision 0002) ------------------------------------

# waiting: in the queue; claimed: a lawyer is talking with the person;
# returned: the lawyer gave the conversation back to the assistant; closed: the
# lawyer or a coordinator ended it; cancelled: the person stopped waiting.
TICKET_STATUSES = ("waiting", "claimed", "returned", "closed", "cancelled")
OPEN_TICKET_STATUSES = ("waiting", "claimed")
TICKET_TRANSITIONS: dict[str, frozenset[str]] = {
    "waiting": frozenset({"claimed", "closed", "cancelled"}),
    # Back to "waiting" when a lawyer releases a conversation to the queue.
    "claimed": frozenset({"waiting", "returned", "closed", "cancelled"}),
    "returned": frozenset(),
    "closed": frozenset(),
    "cancelled": frozenset(),
}
TICKET_STATUS_CHECK = "status IN ('waiting', 'claimed', 'returned', 'closed', 'cancelled')"
STAFF_ROLES = ("lawyer", "coordinator", "admin")
STAFF_ROLE_CHECK = "role IN ('lawyer', 'coordinator', 'admin')"
MESSAGE_ROLES = ("person", "lawyer", "system")
MESSAGE_ROLE_CHECK = "sender_role IN ('person', 'lawyer', 'system')"


class Lawyer(Base):
    """A lawyer who may be on duty. Professional facts, not personal data of
    applicants: lawyers' names are public, and people ask for them by name (点援制)."""

    __tablename__ = "lawyers"
    __table_args__ = (
        sa.CheckConstraint("years_of_practice >= 0", name="years_of_practice"),
        sa.CheckConstraint(
            "criminal_practice_years >= 0 AND criminal_practice_years <= years_of_practice",
            name="criminal_practice_years",
        ),
    )

    id = sa.Column(sa.Integer, primary_key=True)
    display_name = sa.Column(sa.String(64), nullable=False, unique=True)
    years_of_practice = sa.Column(sa.Integer, nullable=False)
    criminal_practice_years = sa.Column(sa.Integer, nullable=False)
    # JSON lists: matter-type keys of matter_types.yml; language codes ("zh", "mn").
    specialities = sa.Column(sa.Text, nullable=False)
    disability_experience = sa.Column(sa.Boolean, nullable=False)
    sign_language = sa.Column(sa.Boolean, nullable=False)
    languages = sa.Column(sa.Text, nullable=False)
    active = sa.Column(sa.Boolean, nullable=False)
    created_at = sa.Column(UTCDateTime, nullable=False)


class DutyShift(Base):
    """One stretch of duty (排班), in UTC; [starts_at, ends_at)."""

    __tablename__ = "duty_shifts"
    __table_args__ = (sa.CheckConstraint("ends_at > starts_at", name="ends_after_start"),)

    id = sa.Column(sa.Integer, primary_key=True)
    lawyer_id = sa.Column(sa.Integer, sa.ForeignKey("lawyers.id"), nullable=False, index=True)
    starts_at = sa.Column(UTCDateTime, nullable=False, index=True)
    ends_at = sa.Column(UTCDateTime, nullable=False)


class StaffUser(Base):
    """A console account. A lawyer's account is linked to their roster entry."""

    __tablename__ = "staff_users"
    __table_args__ = (
        sa.CheckConstraint(STAFF_ROLE_CHECK, name="role"),
        sa.CheckConstraint("role <> 'lawyer' OR lawyer_id IS NOT NULL", name="lawyer_linked"),
        sa.CheckConstraint("failed_logins >= 0", name="failed_logins"),
    )

    id = sa.Column(sa.Integer, primary_key=True)
    username = sa.Column(sa.String(64), nullable=False, unique=True)
    password_hash = sa.Column(sa.String(255), nullable=False)  # argon2id, PHC string
    role = sa.Column(sa.String(16), nullable=False)
    lawyer_id = sa.Column(sa.Integer, sa.ForeignKey("lawyers.id"), unique=True)
    failed_logins = sa.Column(sa.Integer, nullable=False)
    locked_until = sa.Column(UTCDateTime)
    created_at = sa.Column(UTCDateTime, nullable=False)


class HandoffTicket(Base):
    """A request to talk with a lawyer, from one conversation."""

    __tablename__ = "handoff_tickets"
    __table_args__ = (
        sa.CheckConstraint(TICKET_STATUS_CHECK, name="status"),
        # The queue: waiting tickets by priority, then by how long they have waited.
        sa.Index("ix_handoff_tickets_queue", "status", "priority", "created_at"),
    )

    id = sa.Column(sa.Integer, primary_key=True)
    status = sa.Column(sa.String(16), nullable=False)
    created_at = sa.Column(UTCDateTime, nullable=False)
    claimed_at = sa.Column(UTCDateTime)
    closed_at = sa.Column(UTCDateTime)  # returned, closed or cancelled

    # Not personal: what the queue is sorted and routed by.
    channel = sa.Column(sa.String(16), nullable=False)
    region = sa.Column(sa.String(32), nullable=False)
    matter_type = sa.Column(sa.String(64), nullable=False)
    urgent = sa.Column(sa.Boolean, nullable=False)
    priority = sa.Column(sa.Integer, nullable=False)

    intake_id = sa.Column(sa.Integer, sa.ForeignKey("intakes.id"), index=True)
    assigned_lawyer_id = sa.Column(sa.Integer, sa.ForeignKey("lawyers.id"), index=True)
    callback_at = sa.Column(UTCDateTime)

    # Personal data, encrypted, each bound to its column (store/encrypted_columns.py).
    # The sender id is kept (not only hashed) because replies are relayed to it.
    sender_encrypted = sa.Column(sa.Text, nullable=False)
    # Which groups put the person ahead (disability is sensitive: 个人信息保护法 art. 28).
    priority_reasons_encrypted = sa.Column(sa.Text, nullable=False)
    summary_encrypted = sa.Column(sa.Text, nullable=False)
    transcript_encrypted = sa.Column(sa.Text, nullable=False)
    case_encrypted = sa.Column(sa.Text, nullable=False)  # the facts the rules look at
    requested_lawyer_encrypted = sa.Column(sa.Text)
    callback_phone_encrypted = sa.Column(sa.Text)

    # Keyed hash of the sender id, to find a conversation's tickets.
    sender_lookup = sa.Column(sa.String(80), nullable=False, index=True)
    # The same hash while the ticket is open, NULL after: the unique constraint
    # lets one conversation have only one open ticket, even under a race.
    open_sender_lookup = sa.Column(sa.String(80), unique=True)

    # The person's side, kept here so a restarted gateway neither repeats nor loses
    # anything: the last lawyer message relayed to a channel that cannot poll
    # (spoken, Telegram, WeChat), and when the person was told the ticket ended.
    relayed_message_id = sa.Column(sa.Integer, nullable=False, default=0, server_default="0")
    end_told_at = sa.Column(UTCDateTime)


class HandoffMessage(Base):
    """One message relayed between the person and the lawyer, or a system notice."""

    __tablename__ = "handoff_messages"
    __table_args__ = (sa.CheckConstraint(MESSAGE_ROLE_CHECK, name="sender_role"),)

    id = sa.Column(sa.Integer, primary_key=True)
    ticket_id = sa.Column(
        sa.Integer, sa.ForeignKey("handoff_tickets.id"), nullable=False, index=True
    )
    sender_role = sa.Column(sa.String(8), nullable=False)
    # A staff username for lawyers, "person" or "system": never the person's id.
    author = sa.Column(sa.String(64), nullable=False)
    text_encrypted = sa.Column(sa.Text, nullable=False)
    sent_at = sa.Column(UTCDateTime, nullable=False)


class HandoffNote(Base):
    """A lawyer's or coordinator's note on a ticket: for staff only, never relayed."""

    __tablename__ = "handoff_notes"

    id = sa.Column(sa.Integer, primary_key=True)
    ticket_id = sa.Column(
        sa.Integer, sa.ForeignKey("handoff_tickets.id"), nullable=False, index=True
    )
    author = sa.Column(sa.String(64), nullable=False)  # a staff username
    text_encrypted = sa.Column(sa.Text, nullable=False)
    written_at = sa.Column(UTCDateTime, nullable=False)


# Figures for the centre (revision 0003) ------------------------------------------

# Where a conversation stands in the questions: a question is waiting for an
# answer (asking), the person said they would rather stop there (left), or the
# form finished (done).
QUESTION_STATES = ("asking", "left", "done")
QUESTION_STATE_CHECK = "question_state IN ('asking', 'left', 'done')"


class ConversationFigure(Base):
    """What the centre counts about one conversation, and nothing personal.

    Written by the Rasa event broker (rasa_ext/figures_broker.py) from the
    dialogue's events: no text, no sender id (a keyed hash of its own purpose,
    so this table cannot be joined to the tracker store or the applications),
    only the channel, times, slot *names* and the matter type.
    """

    __tablename__ = "conversation_figures"
    __table_args__ = (sa.CheckConstraint(QUESTION_STATE_CHECK, name="question_state"),)

    id = sa.Column(sa.Integer, primary_key=True)
    conversation_lookup = sa.Column(sa.String(80), nullable=False, unique=True)
    channel = sa.Column(sa.String(16), nullable=False)
    started_at = sa.Column(UTCDateTime, nullable=False, index=True)
    last_turn_at = sa.Column(UTCDateTime, nullable=False)
    turns = sa.Column(sa.Integer, nullable=False)
    matter_type = sa.Column(sa.String(64))
    # The form running now, and the last question asked (a slot name) in which form.
    active_form = sa.Column(sa.String(64))
    last_form = sa.Column(sa.String(64))
    last_question = sa.Column(sa.String(64))
    question_state = sa.Column(sa.String(8))
    applied = sa.Column(sa.Boolean, nullable=False)
    handed_over = sa.Column(sa.Boolean, nullable=False)


# Conversations continued on another channel (revision 0005) ----------------------


class ContinuationCode(Base):
    """An eight-digit code that carries a conversation to another channel (接续码):
    valid briefly and once. The code is kept only as a keyed hash, the
    conversation id only encrypted (store/links.py)."""

    __tablename__ = "continuation_codes"

    id = sa.Column(sa.Integer, primary_key=True)
    code_lookup = sa.Column(sa.String(80), nullable=False, index=True)
    conversation_encrypted = sa.Column(sa.Text, nullable=False)
    created_at = sa.Column(UTCDateTime, nullable=False)
    expires_at = sa.Column(UTCDateTime, nullable=False, index=True)
    used_at = sa.Column(UTCDateTime)


class ConversationLink(Base):
    """A sender on another channel that brought a code: its turns belong to the
    conversation the code was given in. Made only by the person, never guessed."""

    __tablename__ = "conversation_links"

    id = sa.Column(sa.Integer, primary_key=True)
    # Keyed hashes (CONVERSATION_LOOKUP) of the new sender and of the conversation.
    alias_lookup = sa.Column(sa.String(80), nullable=False, unique=True)
    conversation_lookup = sa.Column(sa.String(80), nullable=False, index=True)
    # Encrypted: the conversation for Rasa, the sender for a lawyer's pushed messages.
    conversation_encrypted = sa.Column(sa.Text, nullable=False)
    alias_encrypted = sa.Column(sa.Text, nullable=False)
    channel = sa.Column(sa.String(16), nullable=False)
    linked_at = sa.Column(UTCDateTime, nullable=False)
    last_turn_at = sa.Column(UTCDateTime, nullable=False)


class PendingLink(Base):
    """A code said on another channel, waiting to be confirmed where it was given
    (确认接续 and a four-digit number, store/links.py): nothing is linked until
    then. Kept after the confirmation, with `confirmed_at`, until the new
    channel's next turn is told it is connected; deleted when it expires."""

    __tablename__ = "pending_links"

    id = sa.Column(sa.Integer, primary_key=True)
    # Keyed hashes (CONVERSATION_LOOKUP): one pending link per conversation.
    conversation_lookup = sa.Column(sa.String(80), nullable=False, unique=True)
    alias_lookup = sa.Column(sa.String(80), nullable=False, index=True)
    conversation_encrypted = sa.Column(sa.Text, nullable=False)
    alias_encrypted = sa.Column(sa.Text, nullable=False)
    channel = sa.Column(sa.String(16), nullable=False)
    # The confirmation number only as a keyed hash (CONTINUATION_CONFIRMATION).
    confirmation_lookup = sa.Column(sa.String(80), nullable=False)
    created_at = sa.Column(UTCDateTime, nullable=False)
    expires_at = sa.Column(UTCDateTime, nullable=False, index=True)
    confirmed_at = sa.Column(UTCDateTime)


class ContinuationGuess(Base):
    """A wrong or late code, kept for the guess limit only, then deleted."""

    __tablename__ = "continuation_guesses"

    id = sa.Column(sa.Integer, primary_key=True)
    guesser_lookup = sa.Column(sa.String(80), nullable=False, index=True)
    at = sa.Column(UTCDateTime, nullable=False, index=True)


# Hotline calls (revision 0006) ------------------------------------------------------

CALL_OUTCOMES = ("resolved", "callback", "transferred", "abandoned")
CALL_OUTCOME_CHECK = "outcome IN ('resolved', 'callback', 'transferred', 'abandoned')"


class HotlineCall(Base):
    """One call the assistant answered on the hotline (bot/hotline/): times and outcome.

    No audio, no text, no caller number, not even the call's UUID (it joins
    to the telephone system's records, which hold the number).
    """

    __tablename__ = "hotline_calls"
    __table_args__ = (sa.CheckConstraint(CALL_OUTCOME_CHECK, name="outcome"),)

    id = sa.Column(sa.Integer, primary_key=True)
    started_at = sa.Column(UTCDateTime, nullable=False, index=True)
    ended_at = sa.Column(UTCDateTime, nullable=False)
    duration_seconds = sa.Column(sa.Float, nullable=False)
    outcome = sa.Column(sa.String(16), nullable=False)
    turns = sa.Column(sa.Integer, nullable=False)


# Messages the assistant did not understand, for coordinators to label (revision 0009) --

TRAINING_STATUSES = ("new", "labelled", "exported")
TRAINING_STATUS_CHECK = "status IN ('new', 'labelled', 'exported')"
TRAINING_REASONS = ("not_understood", "asked_back")
TRAINING_REASON_CHECK = "reason IN ('not_understood', 'asked_back')"


class TrainingMessage(Base):
    """One message the assistant did not understand, or had to ask back about,
    from a person who agreed that such messages teach it (store/training.py).

    The text is masked before it is stored (legal_aid/masking.py) and encrypted
    all the same. No sender id: only a keyed hash of the conversation, so that
    "删除我的信息" and staff erasure find the person's rows (store/erasure.py).
    A discarded message is deleted, not kept with a flag.
    """

    __tablename__ = "training_messages"
    __table_args__ = (
        sa.CheckConstraint(TRAINING_STATUS_CHECK, name="status"),
        sa.CheckConstraint(TRAINING_REASON_CHECK, name="reason"),
    )

    id = sa.Column(sa.Integer, primary_key=True)
    collected_at = sa.Column(UTCDateTime, nullable=False, index=True)
    channel = sa.Column(sa.String(16), nullable=False)
    reason = sa.Column(sa.String(16), nullable=False)
    # What the assistant made of it: an intent of domain.yml (or nlu_fallback),
    # its confidence, and a matter-type key (or none).
    predicted_intent = sa.Column(sa.String(64))
    intent_confidence = sa.Column(sa.Float)
    predicted_matter = sa.Column(sa.String(64))
    text_encrypted = sa.Column(sa.Text, nullable=False)  # masked, then encrypted
    conversation_lookup = sa.Column(sa.String(80), nullable=False, index=True)

    status = sa.Column(sa.String(16), nullable=False, index=True)
    label_intent = sa.Column(sa.String(64))
    label_matter = sa.Column(sa.String(64))
    labelled_by = sa.Column(sa.String(64))  # a staff username
    labelled_at = sa.Column(UTCDateTime)
    exported_at = sa.Column(UTCDateTime)
