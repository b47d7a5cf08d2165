"""Staff commands for the store.

    python -m store export --since 2026-11-01 --format csv [--reader NAME] [--output FILE]
    python -m store rotate-key
    python -m store purge [--dry-run]
    python -m store export-person (--reference FY-… | --phone 139…) --reason WHY [--output FILE]
    python -m store delete-person (--reference FY-… | --phone 139…) --reason WHY

`export` writes applications; `rotate-key` re-encrypts every table's personal
data and Rasa's conversations with the first key (store/rotation.py); `purge`
deletes what is past its retention period (store/retention.py, store/purge.py);
`export-person` and `delete-person` act on one person's records, conversations
included (store/erasure.py).

The database is DATABASE_URL, Rasa's conversations TRACKER_STORE_URL, and the key
PII_KEY or the key file (PII_KEY_FILE, default var/pii.key), as for the assistant
itself. Every export and deletion is audited under the reader's name (default:
cli:<login name>).
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from datetime import date
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

import store
from store import settings
from store.crypto import StoreCryptoError
from store.erasure import Erasure, ErasureReport, NothingFound
from store.intake import EXPORT_FORMATS, IntakeStore
from store.purge import PurgeReport, purge
from store.rotation import RotationReport

EXIT_USAGE = 2
EXIT_FAILED = 1
# The tables of the rotation report, as staff know them.
TABLES_IN_CHINESE = {
    "intakes": "申请",
    "intake_statuses": "申请状态备注",
    "handoff_tickets": "转人工工单",
    "handoff_messages": "转人工消息",
    "handoff_notes": "工单备注",
    "continuation_codes": "接续码",
    "conversation_links": "接续关联",
    "pending_links": "待确认的接续",
    "continuation_guesses": "接续码错误尝试",
    "hotline_calls": "热线通话记录",
    "conversation_figures": "对话统计",
    "training_messages": "待标注的未听懂消息",
    "audit_entries": "审计记录",
    "conversations": "对话",
    "events": "对话事件",
}


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m store", description="法援助手 申请登记：导出与密钥轮换"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    export = commands.add_parser("export", help="导出申请（解密，留审计记录）/ export applications")
    export.add_argument("--since", required=True, type=date.fromisoformat, help="YYYY-MM-DD")
    export.add_argument("--format", required=True, choices=EXPORT_FORMATS, dest="fmt")
    export.add_argument("--reader", default=None, help="审计记录中的读取人 / who reads")
    export.add_argument("--purpose", default="导出申请", help="用途 / why (audited)")
    export.add_argument("--output", type=Path, default=None, help="写入文件（默认标准输出）")

    commands.add_parser(
        "rotate-key", help="用当前密钥重新加密全部数据 / re-encrypt with the first key"
    )
    purging = commands.add_parser(
        "purge", help="删除超过保存期限的记录 / delete what is past retention"
    )
    purging.add_argument("--dry-run", action="store_true", help="只统计，不删除 / count only")

    for name, what in (("export-person", "导出"), ("delete-person", "删除")):
        person = commands.add_parser(name, help=f"{what}一个人的全部记录（留审计记录）")
        which = person.add_mutually_exclusive_group(required=True)
        which.add_argument("--reference", help="申请编号 FY-…")
        which.add_argument("--phone", help="电话号码")
        person.add_argument("--reason", required=True, help="理由（必填，记入审计）/ why")
        person.add_argument("--reader", default=None, help="审计记录中的操作人 / who")
        if name == "export-person":
            person.add_argument(
                "--output", type=Path, default=None, help="写入文件（默认标准输出）"
            )
    return parser.parse_args(argv)


def default_reader() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no login name (a container without passwd entry)
        return f"cli:uid{os.getuid()}"


def write_export(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    # The export holds personal data: readable by its owner only.
    descriptor = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as file:
        file.write(text)


def run(args: argparse.Namespace) -> int:
    env = settings.environment()
    intake_store = IntakeStore.from_env(env)
    tracker_engine = store.create_engine(settings.tracker_store_url(env))
    try:
        if args.command == "export":
            reader = args.reader or default_reader()
            write_export(
                intake_store.export(args.since, args.fmt, reader, args.purpose), args.output
            )
        elif args.command == "rotate-key":
            report = intake_store.rotate_keys(default_reader(), tracker_engine)
            print(rotation_summary(report))
        elif args.command == "purge":
            periods = settings.retention_periods(env)
            report = purge(
                intake_store.engine, tracker_engine, periods, dry_run=args.dry_run,
                actor=default_reader(),
            )  # fmt: skip
            print(purge_summary(report))
        else:
            return run_person_command(
                args, Erasure(intake_store.engine, intake_store.keys), tracker_engine
            )
    finally:
        tracker_engine.dispose()
        intake_store.close()
    return 0


def run_person_command(args: argparse.Namespace, erasure: Erasure, tracker_engine: Engine) -> int:
    actor = args.reader or default_reader()
    which = {"reference": args.reference, "phone": args.phone}
    try:
        if args.command == "export-person":
            exported = erasure.export_person(
                actor, args.reason, tracker_engine=tracker_engine, **which
            )
            write_export(
                json.dumps(exported, ensure_ascii=False, indent=2, default=str), args.output
            )
        else:
            report = erasure.delete_person(
                actor, args.reason, tracker_engine=tracker_engine, **which
            )
            print(erasure_summary(report))
    except NothingFound as error:
        print(f"错误 / error: {error}", file=sys.stderr)
        return EXIT_FAILED
    return 0


def counts_in_chinese(rows: dict[str, int]) -> str:
    return "，".join(f"{TABLES_IN_CHINESE.get(t, t)} {n}" for t, n in rows.items() if n) or "无"


def purge_summary(report: PurgeReport) -> str:
    verb = "将删除" if report.dry_run else "已删除"
    english = "would delete" if report.dry_run else "deleted"
    return (
        f"{verb}超过保存期限的记录（行数）：{counts_in_chinese(report.rows)}。\n"
        f"Past retention, {english} (rows): {report.summary()}."
    )


def erasure_summary(report: ErasureReport) -> str:
    return (
        f"已删除（行数）：{counts_in_chinese(report.deleted.rows)}。\n"
        f"Deleted (rows): {report.deleted.summary()}."
    )


def rotation_summary(report: RotationReport) -> str:
    counts = "，".join(
        f"{TABLES_IN_CHINESE.get(table, table)} {count}" for table, count in report.rows.items()
    )
    lines = (
        f"已用密钥 {report.key_id} 重新加密（行数）：{counts}。\n"
        f"Re-encrypted with key {report.key_id} (rows): {report.summary()}."
    )
    if report.unknown_conversations:
        lines += (
            f"\n{report.unknown_conversations} 个旧对话没有保存对话编号，无法换用新密钥；"
            "保存期满后会被删除，在此之前删除旧密钥会使它们无法查找。\n"
            f"{report.unknown_conversations} old conversations kept no id and stay under the "
            "old key until their retention ends."
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return run(args)
    except StoreCryptoError as error:
        print(f"错误 / error: {error}", file=sys.stderr)
    except ValueError as error:
        print(f"错误 / error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except SQLAlchemyError as error:
        # The driver's message only: SQLAlchemy's own adds the statement's parameters.
        cause = getattr(error, "orig", None) or type(error).__name__
        print(
            "错误：无法读取数据库（DATABASE_URL 是否正确？是否已运行迁移？）\n"
            f"error: cannot use the database: {cause}",
            file=sys.stderr,
        )
    return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
