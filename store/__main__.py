"""Staff commands for the store.

    python -m store export --since 2026-11-01 --format csv [--reader NAME] [--output FILE]
    python -m store rotate-key

`export` writes applications; `rotate-key` re-encrypts every table's personal
data with the first key (store/rotation.py).

The database is DATABASE_URL and the key PII_KEY or the key file (PII_KEY_FILE,
default var/pii.key), as for the assistant itself. Every export is audited under
the reader's name (default: cli:<login name>).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from datetime import date
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from store.crypto import StoreCryptoError
from store.intake import EXPORT_FORMATS, IntakeStore
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
    intake_store = IntakeStore.from_env()
    try:
        if args.command == "export":
            reader = args.reader or default_reader()
            write_export(
                intake_store.export(args.since, args.fmt, reader, args.purpose), args.output
            )
        else:
            print(rotation_summary(intake_store.rotate_keys(actor=default_reader())))
    finally:
        intake_store.close()
    return 0


def rotation_summary(report: RotationReport) -> str:
    counts = "，".join(
        f"{TABLES_IN_CHINESE.get(table, table)} {count}" for table, count in report.rows.items()
    )
    return (
        f"已用密钥 {report.key_id} 重新加密（行数）：{counts}。\n"
        f"Re-encrypted with key {report.key_id} (rows): {report.summary()}."
    )


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
