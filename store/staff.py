"""Staff accounts of the console: argon2id password hashes, roles, lockout.

    python -m store.staff create-admin --username NAME [--password-stdin]

creates the first administrator (the password is asked twice, or read from
standard input with --password-stdin). The database is DATABASE_URL, migrated
(the launcher does it; elsewhere `.venv/bin/alembic upgrade head`).

MAX_FAILED_LOGINS (50) wrong passwords in a row lock an account for fifteen
minutes; while it is locked even the right password is refused, so guessing
cannot go on. (The console locks far sooner, per account *and* address.) Every
login, failure and lock is in the audit log under the account's name; passwords
and hashes never reach a log or an error message.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import sessionmaker

import store
from store import settings
from store.audit import write_audit
from store.models import STAFF_ROLES, Lawyer, StaffUser, utc_now

logger = logging.getLogger(__name__)

# Account-wide: the backstop against guessing spread over many addresses. The
# console locks an account after five failures *per address* (bot/console/
# login_guard.py), so that a stranger cannot lock a lawyer out from elsewhere;
# a lock here would (and would end her open sessions), so it comes far later.
MAX_FAILED_LOGINS = 50
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024  # argon2 takes anything; a bound keeps a login cheap to refuse
USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,31}$")

# argon2id with argon2-cffi's defaults (RFC 9106's second recommendation: 64 MiB, t=3).
_hasher = PasswordHasher()


class StaffError(ValueError):
    """A staff account problem; the message never holds a password."""


class InvalidCredentials(StaffError):
    """Wrong username or password (which one is not said)."""


class AccountLocked(StaffError):
    def __init__(self, until: datetime) -> None:
        super().__init__(f"account locked until {until.isoformat()} / 账号已锁定")
        self.until = until


@dataclass(frozen=True)
class StaffIdentity:
    """Who is acting, as the store checks it: never taken from the caller's word."""

    username: str
    role: str  # "lawyer" | "coordinator" | "admin"
    lawyer_id: int | None

    @property
    def actor(self) -> str:
        """The name in the audit log."""
        return f"staff:{self.username}"


# Passwords -------------------------------------------------------------------


def check_password_rules(password: str) -> None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise StaffError(f"密码至少 {MIN_PASSWORD_LENGTH} 个字符 / password too short")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise StaffError("密码太长 / password too long")


def hash_password(password: str) -> str:
    """An argon2id hash (PHC string, salt included) of an acceptable password."""
    check_password_rules(password)
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when the password matches; False for a wrong password or a damaged hash."""
    if not isinstance(password, str) or len(password) > MAX_PASSWORD_LENGTH:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


# A hash to verify against when the username is unknown, so that a login for a
# name that does not exist takes as long as one for a name that does.
_DUMMY_HASH = _hasher.hash("not a password of anyone, only for timing")


# Accounts --------------------------------------------------------------------


class StaffAccounts:
    """Create accounts and log staff in. Synchronous; the gateway calls it in a thread."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, future=True, expire_on_commit=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> StaffAccounts:
        env = settings.environment(environ)
        return cls(store.create_engine(settings.database_url(env)))

    def close(self) -> None:
        self.engine.dispose()

    def create(
        self,
        username: str,
        password: str,
        role: str,
        lawyer_id: int | None = None,
        created_by: str = "system",
    ) -> StaffIdentity:
        """A new account; StaffError for a taken name, a bad role or a weak password."""
        if not isinstance(username, str) or not USERNAME.match(username):
            raise StaffError(
                "用户名为 2–32 个小写字母、数字或 _ . -，以字母或数字开头 / invalid username"
            )
        if role not in STAFF_ROLES:
            raise StaffError(f"role must be one of {', '.join(STAFF_ROLES)}")
        if (role == "lawyer") != (lawyer_id is not None):
            raise StaffError("律师账号必须关联排班中的律师，其他角色不能关联 / lawyer link")
        password_hash = hash_password(password)
        try:
            with self._sessions.begin() as session:
                if lawyer_id is not None and session.get(Lawyer, lawyer_id) is None:
                    raise StaffError(f"no lawyer with id {lawyer_id}")
                session.add(
                    StaffUser(
                        username=username,
                        password_hash=password_hash,
                        role=role,
                        lawyer_id=lawyer_id,
                        failed_logins=0,
                        created_at=utc_now(),
                    )
                )
                _audit(session, created_by, "staff_create", f"{username} as {role}")
        except IntegrityError:
            raise StaffError(
                f"用户名 {username} 已存在，或该律师已有账号 / username taken"
            ) from None
        logger.info("staff account %s created (%s)", username, role)
        return StaffIdentity(username, role, lawyer_id)

    def has_admin(self) -> bool:
        with self._sessions() as session:
            query = sa.select(sa.func.count()).select_from(StaffUser)
            return bool(session.execute(query.where(StaffUser.role == "admin")).scalar())

    def authenticate(
        self, username: str, password: str, now: datetime | None = None
    ) -> StaffIdentity:
        """The account's identity, or InvalidCredentials / AccountLocked.

        The fifth failure in a row locks the account for LOCKOUT; the counter
        starts again when the lock has passed or after a successful login.
        """
        now = now or utc_now()
        identity: StaffIdentity | None = None
        locked_until: datetime | None = None
        # Decide inside the transaction, raise after it: a refused login must
        # still commit its failure count and its audit entry.
        with self._sessions.begin() as session:
            user = session.execute(
                sa.select(StaffUser).where(StaffUser.username == username).with_for_update()
            ).scalar_one_or_none()
            if user is None:
                verify_password(_DUMMY_HASH, password)  # as slow as a real check
                _audit(session, "anonymous", "login_failed", "unknown username")
            elif user.locked_until is not None and user.locked_until > now:
                _audit(session, f"staff:{user.username}", "login_refused", "locked")
                locked_until = user.locked_until
            elif verify_password(user.password_hash, password):
                _reset_lock(user)
                if needs_rehash(user.password_hash):
                    user.password_hash = _hasher.hash(password)
                _audit(session, f"staff:{user.username}", "login", "")
                identity = StaffIdentity(user.username, user.role, user.lawyer_id)
            else:
                locked_until = _count_failure(user, now)
                action, detail = (
                    ("login_failed", f"{user.failed_logins} failures")
                    if locked_until is None
                    else ("locked", f"{MAX_FAILED_LOGINS} failures")
                )
                _audit(session, f"staff:{user.username}", action, detail)
        if identity is not None:
            return identity
        if locked_until is not None:
            raise AccountLocked(locked_until)
        raise InvalidCredentials("用户名或密码错误 / wrong username or password")

    def identity(self, username: str) -> StaffIdentity | None:
        """The account as it is now (role or lawyer link may have changed)."""
        with self._sessions() as session:
            user = session.execute(
                sa.select(StaffUser).where(StaffUser.username == username)
            ).scalar_one_or_none()
            return None if user is None else StaffIdentity(user.username, user.role, user.lawyer_id)


def _reset_lock(user: StaffUser) -> None:
    user.failed_logins = 0
    user.locked_until = None


def _count_failure(user: StaffUser, now: datetime) -> datetime | None:
    """Count a wrong password; the lock's end when this one locks the account."""
    if user.locked_until is not None:  # an earlier lock has passed: start again
        _reset_lock(user)
    user.failed_logins += 1
    if user.failed_logins < MAX_FAILED_LOGINS:
        return None
    user.failed_logins = 0
    user.locked_until = now + LOCKOUT
    return user.locked_until


def _audit(session: sa.orm.Session, actor: str, action: str, detail: str) -> None:
    write_audit(session, actor, action, None, "员工账号", detail)


# Command line ----------------------------------------------------------------

EXIT_FAILED = 1
EXIT_USAGE = 2


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m store.staff", description="法援助手 员工账号")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-admin", help="创建管理员账号 / create an administrator")
    create.add_argument("--username", required=True)
    create.add_argument(
        "--password-stdin",
        action="store_true",
        help="从标准输入读密码（第一行）/ read the password from standard input",
    )
    return parser.parse_args(argv)


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("新密码 / new password: ")
    second = getpass.getpass("再输一次 / again: ")
    if first != second:
        raise StaffError("两次输入的密码不一样 / the passwords differ")
    return first


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        password = read_password(args.password_stdin)
        check_password_rules(password)
        accounts = StaffAccounts.from_env()
        try:
            accounts.create(args.username, password, "admin", created_by="cli")
        finally:
            accounts.close()
    except StaffError as error:
        print(f"没有创建 / not created: {error}", file=sys.stderr)
        return EXIT_FAILED
    except (EOFError, KeyboardInterrupt):
        print("已取消 / cancelled", file=sys.stderr)
        return EXIT_FAILED
    except SQLAlchemyError as error:
        print(
            "数据库不可用或还没有迁移（.venv/bin/alembic upgrade head）/ database unavailable or "
            f"not migrated: {type(error).__name__}",
            file=sys.stderr,
        )
        return EXIT_FAILED
    print(f"已创建管理员 {args.username} / administrator created")
    return 0


if __name__ == "__main__":
    sys.exit(main())
