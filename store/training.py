"""Learning from the centre's own conversations (issue 21): the messages the
assistant did not understand, masked, labelled by a coordinator, exported for
a developer to review.

    python -m store.training export --staff NAME --out FILE

1. The action server keeps a message when the assistant did not understand it
   (the fallback) or had to ask back which matter it is about, and only when the
   person agreed to that (actions/learning.py). `collect` masks the text before
   anything is stored (legal_aid/masking.py: phone and ID numbers, names, places)
   and encrypts it all the same. No sender id is kept: only the conversation's
   keyed hash, so that "删除我的信息" and staff erasure delete the rows
   (store/erasure.py); they also go after RETENTION_TRAINING_DAYS (store/purge.py).
2. A coordinator reads the unlabelled ones in the console (/console/training,
   bot/console/training.py; every view audited) and gives each an intent of
   domain.yml and, if it tells a problem, a matter type of
   policy/matter_types.yml, or discards it (the row is deleted).
3. `export` writes the labelled ones as Rasa 3.x training data, the way
   nlu_data/problems/ is written: the matter type is example metadata, which is
   what rasa_ext/matter_type.py learns from (there is no span to annotate). The
   file goes where the staff member says, never into nlu_data/: a developer
   reads it and commits what is right. The export is audited under the staff
   member's name and marks the messages exported, so none is exported twice.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path

import sqlalchemy as sa
import yaml
from sqlalchemy.orm import Session

from legal_aid.masking import EMAIL_MASK, NAME_MASK, NUMBER_MASK, PLACE_MASK, mask
from legal_aid.policy_data import load_policy_file
from store.audit import write_audit
from store.crypto import CONVERSATION_LOOKUP, PROJECT_DIR
from store.encrypted_columns import decrypt_field, encrypt_field
from store.encrypted_store import EncryptedStore
from store.models import TRAINING_REASONS, TrainingMessage, utc_now

DOMAIN_FILE = PROJECT_DIR / "domain.yml"
FALLBACK_INTENT = "nlu_fallback"
MATTER_METADATA = "matter_type"
PURPOSE = "标注未听懂的消息，改进助手"
EXPORT_PURPOSE = "导出已标注的消息，供开发人员审核后加入训练数据"
LIST_LIMIT = 50
# As for the console page: administrators read no conversations.
LABELLING_ROLES = ("coordinator",)
# In the exported examples a mask becomes words people say, so the model does
# not learn the brackets; the developer sees them as placeholders all the same.
EXPORT_WORDS = {NAME_MASK: "某某", NUMBER_MASK: "某号码", PLACE_MASK: "某地", EMAIL_MASK: "某邮箱"}


class TrainingError(ValueError):
    """A label that is not an intent or matter type, or a message gone or exported."""


@dataclass(frozen=True)
class Misunderstood:
    """A message the assistant did not understand, as the action server saw it."""

    conversation_id: str
    text: str
    channel: str
    reason: str  # "not_understood" or "asked_back"
    intent: str | None = None
    confidence: float | None = None
    matter: str | None = None


@dataclass(frozen=True)
class TrainingView:
    """What a coordinator sees of one message: masked, with the assistant's guess."""

    id: int
    collected_at: datetime
    channel: str
    reason: str
    text: str  # masked
    intent: str | None
    confidence: float | None
    matter: str | None


@cache
def intents() -> tuple[str, ...]:
    """The intents of domain.yml: what a message may be labelled with."""
    domain = yaml.safe_load(DOMAIN_FILE.read_text(encoding="utf-8"))
    return tuple(domain["intents"])


@cache
def matter_types() -> tuple[str, ...]:
    """The matter types of policy/matter_types.yml."""
    return tuple(load_policy_file("matter_types.yml") or {})


def _identifier(value: str | None, allowed: tuple[str, ...]) -> str | None:
    # Only names the centre knows reach the table: nothing a client made up.
    return value if value in allowed else None


class TrainingStore(EncryptedStore):
    """Synchronous: the action server and the gateway call it in a thread."""

    # The assistant ----------------------------------------------------------------------

    def collect(self, message: Misunderstood) -> None:
        """Keeps the message masked; the caller has checked the person agreed."""
        if message.reason not in TRAINING_REASONS:
            raise TrainingError(f"unknown reason {message.reason!r}")
        text = mask(message.text.strip())
        if not text:
            return
        confidence = message.confidence
        with self._sessions.begin() as session:
            session.add(
                TrainingMessage(
                    collected_at=utc_now(),
                    channel=message.channel[: TrainingMessage.channel.type.length],
                    reason=message.reason,
                    predicted_intent=_identifier(message.intent, (*intents(), FALLBACK_INTENT)),
                    intent_confidence=None if confidence is None else float(confidence),
                    predicted_matter=_identifier(message.matter, matter_types()),
                    text_encrypted=encrypt_field(
                        self.keys, TrainingMessage, "text_encrypted", text
                    ),
                    conversation_lookup=self.keys.lookup_hash(
                        message.conversation_id, CONVERSATION_LOOKUP
                    ),
                    status="new",
                )
            )

    # Coordinators --------------------------------------------------------------------

    def unlabelled(self, reader: str, limit: int = LIST_LIMIT) -> tuple[list[TrainingView], int]:
        """The oldest unlabelled messages, and how many labelled ones wait for an
        export; the read is audited (the texts are masked, but still someone's words)."""
        with self._sessions.begin() as session:
            rows = list(
                session.execute(
                    sa.select(TrainingMessage)
                    .where(TrainingMessage.status == "new")
                    .order_by(TrainingMessage.id)
                    .limit(limit)
                ).scalars()
            )
            waiting = session.execute(
                sa.select(sa.func.count())
                .select_from(TrainingMessage)
                .where(TrainingMessage.status == "labelled")
            ).scalar_one()
            write_audit(session, reader, "read_training", None, PURPOSE, f"{len(rows)} messages")
            return [self._view(row) for row in rows], waiting

    def label(self, message_id: int, intent: str, matter: str | None, by: str) -> None:
        """The intent (and matter type) a coordinator gave; again before an export."""
        if intent not in intents():
            raise TrainingError("not an intent of domain.yml / 不是已有的意图")
        if matter is not None and matter not in matter_types():
            raise TrainingError("not a matter type / 不是已有的事项类型")
        with self._sessions.begin() as session:
            row = self._open_row(session, message_id)
            row.status, row.label_intent, row.label_matter = "labelled", intent, matter
            row.labelled_by, row.labelled_at = (
                by[: TrainingMessage.labelled_by.type.length],
                utc_now(),
            )
            write_audit(session, by, "label_training", _reference(message_id), PURPOSE, intent)

    def discard(self, message_id: int, by: str) -> None:
        """Not worth teaching, or still telling who someone is: deleted."""
        with self._sessions.begin() as session:
            session.delete(self._open_row(session, message_id))
            write_audit(session, by, "discard_training", _reference(message_id), PURPOSE)

    def export(self, staff: str, write: Callable[[str], None]) -> int:
        """Hands the labelled messages not yet exported to `write` as Rasa NLU YAML,
        then marks them exported; nothing is marked when `write` fails. Returns
        how many were exported (`write` is not called for none)."""
        with self._sessions.begin() as session:
            rows = list(
                session.execute(
                    sa.select(TrainingMessage)
                    .where(TrainingMessage.status == "labelled")
                    .order_by(TrainingMessage.label_intent, TrainingMessage.id)
                    .with_for_update()
                ).scalars()
            )
            if not rows:
                return 0
            examples = [
                (
                    row.label_intent,
                    _for_training(decrypt_field(self.keys, row, "text_encrypted")),
                    row.label_matter,
                )
                for row in rows
            ]
            write(training_yaml(examples))
            now = utc_now()
            for row in rows:
                row.status, row.exported_at = "exported", now
            write_audit(
                session, staff, "export_training", None, EXPORT_PURPOSE, f"{len(rows)} messages"
            )
        return len(rows)

    # Helpers -------------------------------------------------------------------------

    def _open_row(self, session: Session, message_id: int) -> TrainingMessage:
        row = session.get(TrainingMessage, message_id, with_for_update=True)
        if row is None or row.status == "exported":
            raise TrainingError("the message is gone or exported / 消息已删除或已导出")
        return row

    def _view(self, row: TrainingMessage) -> TrainingView:
        return TrainingView(
            id=row.id,
            collected_at=row.collected_at,
            channel=row.channel,
            reason=row.reason,
            text=decrypt_field(self.keys, row, "text_encrypted") or "",
            intent=row.predicted_intent,
            confidence=row.intent_confidence,
            matter=row.predicted_matter,
        )


def _reference(message_id: int) -> str:
    return f"TM-{message_id}"


def _for_training(text: str | None) -> str:
    text = text or ""
    for masked, words in EXPORT_WORDS.items():
        text = text.replace(masked, words)
    return " ".join(text.split())


EXPORT_HEADER = (
    "# 法援助手：协调员标注的未听懂的消息（已遮盖姓名、号码、地点：某某、某号码、某地）。\n"
    "# Labelled by the centre's coordinators from messages the assistant did not\n"
    "# understand (masked: 某某 a name, 某号码 a number, 某地 a place). Review every\n"
    "# example before moving it into nlu_data/; matter types are example metadata,\n"
    "# as in nlu_data/problems/.\n"
)


def training_yaml(examples: list[tuple[str, str, str | None]]) -> str:
    """Rasa 3.x NLU training data: one block per intent, each example with its
    matter type as metadata when it has one."""
    blocks: dict[str, list[dict]] = {}
    for intent, text, matter in examples:
        example: dict = {"text": text}
        if matter:
            example["metadata"] = {MATTER_METADATA: matter}
        blocks.setdefault(intent, []).append(example)
    data = {
        "version": "3.1",
        "nlu": [{"intent": intent, "examples": items} for intent, items in blocks.items()],
    }
    return EXPORT_HEADER + yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


# The command -------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m store.training",
        description="导出协调员已标注的未听懂的消息（Rasa 训练数据，供开发人员审核）",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    export = commands.add_parser("export", help="导出并标记为已导出 / export the labelled ones")
    export.add_argument("--staff", required=True, help="导出人的工作台账号（协调员，记入审计）")
    export.add_argument("--out", required=True, type=Path, help="写入的文件（不能在 nlu_data/ 中）")
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> int:
    from store.staff import StaffAccounts

    out = args.out.resolve()
    if (PROJECT_DIR / "nlu_data") in out.parents:
        print("错误：请写到 nlu_data/ 之外，由开发人员审核后再移入。\n"
              "error: write outside nlu_data/; a developer reviews, then commits.", file=sys.stderr)  # fmt: skip
        return 2
    training = TrainingStore.from_env()
    try:
        identity = StaffAccounts(training.engine).identity(args.staff)
        if identity is None or identity.role not in LABELLING_ROLES:
            print(f"错误：{args.staff} 不是协调员的账号。\n"
                  f"error: {args.staff} is no coordinator's account.",
                  file=sys.stderr)  # fmt: skip
            return 2
        count = training.export(identity.actor, lambda text: _write(out, text))
    finally:
        training.close()
    if count:
        print(f"已导出 {count} 条到 {out}，请审核后再加入 nlu_data/。\nExported {count} to {out}.")
    else:
        print("没有新的已标注消息，没有写文件。\nNothing labelled since the last export.")
    return 0


def _write(path: Path, text: str) -> None:
    # Masked, but still people's words: readable by its owner only, like the other exports.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)


def main(argv: list[str] | None = None) -> int:
    return run(parse_args(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    sys.exit(main())
