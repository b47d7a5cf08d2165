"""How long each kind of record is kept (个人信息保护法 art. 19: no longer than the
purpose needs), in one place. `python -m store purge` and the gateway's daily run
(bot/retention.py) delete what is older (store/purge.py); the consent text in
domain.yml says the same periods (tests/test_retention.py checks the defaults).

Each period is an environment variable (or `.env`) in days; the defaults, and why:

| variable | default | counted from |
| --- | --- | --- |
| RETENTION_APPLICATION_DAYS | 1095 (3 years) | an application's closing or withdrawal |
| RETENTION_TICKET_DAYS | 365 | a handoff ticket's end (its messages and notes with it) |
| RETENTION_CONVERSATION_DAYS | 30 | a conversation's last message (Rasa's tracker store) |
| RETENTION_LINK_DAYS | 30 | a continuation link's last turn |
| RETENTION_CALL_DAYS | 730 | a hotline call record (no personal data) |
| RETENTION_FIGURES_DAYS | 730 | a conversation's figures (no personal data) |
| RETENTION_TRAINING_DAYS | 90 | a message not understood, kept masked for labelling |
| RETENTION_AUDIT_DAYS | 1825 (5 years) | an audit entry |

- Applications: 3 years after they close, the general limitation period (民法典
  第一百八十八条): long enough for a complaint about the aid, or a new
  application in the same matter, to find the record; the centre's own case
  file (法律援助案卷) is archived by the centre, not here. An open application
  is never purged. To confirm with the centre (policy/REVIEW.md).
- Tickets: a year after they end; the lawyer's advice is in the centre's
  records when it became a case, and the conversation itself is not a case file.
- Conversations: 30 days after the last message, for everybody. What someone
  who applied or talked to a lawyer needs is in the application or the ticket;
  the raw conversation (every word typed or said) is the most sensitive record
  and the least useful later. 30 days still lets a paused application resume.
- Links: as long as the conversation they lead to.
- Hotline calls and figures: two years, for the centre's yearly reports; they
  hold nothing personal.
- Messages not understood (store/training.py): 90 days from the message,
  labelled or not, exported or not. They are masked, but a message is still
  someone's words; a quarter is long enough for a coordinator to label them and
  a developer to take the exported file into nlu_data/, which is then the copy
  that lasts (reviewed, and no longer anyone's message).
- Audit log: 5 years, longer than PIPL art. 56's three years and than any
  application's life (open, then 3 years), so every read of a record is still
  accounted for while the record exists. It holds no personal data.

Codes to continue a conversation and wrong guesses are not configurable: they
are deleted once expired (minutes), since nothing needs them afterwards.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import timedelta

DAYS_ENV = {
    "applications": "RETENTION_APPLICATION_DAYS",
    "tickets": "RETENTION_TICKET_DAYS",
    "conversations": "RETENTION_CONVERSATION_DAYS",
    "links": "RETENTION_LINK_DAYS",
    "calls": "RETENTION_CALL_DAYS",
    "figures": "RETENTION_FIGURES_DAYS",
    "training": "RETENTION_TRAINING_DAYS",
    "audit": "RETENTION_AUDIT_DAYS",
}


class RetentionConfigError(ValueError):
    """A RETENTION_*_DAYS variable is not a whole number of days, at least 1."""


@dataclass(frozen=True)
class RetentionPeriods:
    """Days each kind of record is kept (see the module's table)."""

    applications: int = 1095
    tickets: int = 365
    conversations: int = 30
    links: int = 30
    calls: int = 730
    figures: int = 730
    training: int = 90
    audit: int = 1825

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> RetentionPeriods:
        """The defaults, each replaced by its variable when set."""
        return cls(
            **{kind.name: _days(environ, DAYS_ENV[kind.name], kind.default) for kind in fields(cls)}
        )

    def period(self, kind: str) -> timedelta:
        return timedelta(days=getattr(self, kind))

    @property
    def application_years(self) -> int | None:
        """Whole years, as the consent text says it; None when not whole years."""
        years, rest = divmod(self.applications, 365)
        return years if rest == 0 else None


def _days(environ: Mapping[str, str], name: str, default: object) -> int:
    text = (environ.get(name) or "").strip()
    if not text:
        return int(default)  # type: ignore[call-overload]
    if not text.isdigit() or int(text) < 1:
        raise RetentionConfigError(f"{name} must be a number of days, at least 1 / 应为天数")
    return int(text)
