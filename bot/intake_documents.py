"""GET /intake/{reference}/form.pdf: the applicant's filled-in application form.

The link is given only in the person's own conversation and carries a token
derived from the reference with the store's key, so nobody can fetch another
person's form by guessing a reference number. Every download is audited by
the store as the applicant's own read. `?large=1` gives the large-print form.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
from typing import Any

from aiohttp import web

from bot.messages import FORM_NOT_FOUND, FORM_UNAVAILABLE
from bot.stores import stores_of
from legal_aid.intake.materials import checklist
from legal_aid.intake.pdf import render_application_form
from store.intake import IntakeStore

logger = logging.getLogger(__name__)

REFERENCE = re.compile(r"^FY-\d{4}-\d{6,}$")


def routes() -> list[web.RouteDef]:
    return [web.get("/intake/{reference}/form.pdf", application_form)]


async def application_form(request: web.Request) -> web.Response:
    reference = request.match_info["reference"]
    token = request.query.get("token", "")
    if not REFERENCE.match(reference) or not token:
        raise _page(web.HTTPNotFound, FORM_NOT_FOUND)
    try:
        intake = stores_of(request.config_dict).intake
        pdf = await form_pdf(intake, reference, token, request.query.get("large") == "1")
    except Exception:
        logger.exception("application form %s could not be rendered", reference)
        raise _page(web.HTTPServiceUnavailable, FORM_UNAVAILABLE) from None
    if pdf is None:
        # A wrong token looks the same as a missing record: nothing to learn by guessing.
        raise _page(web.HTTPNotFound, FORM_NOT_FOUND)
    return web.Response(
        body=pdf,
        content_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{reference}.pdf"',
            # Personal data: never kept by a shared cache or the browser's cache.
            "Cache-Control": "no-store",
        },
    )


async def form_pdf(
    intake: IntakeStore, reference: str, token: str, large_print: bool = False
) -> bytes | None:
    """The applicant's form, or None when the reference and token do not match.

    Also for channels that send the file itself (Telegram) rather than the link.
    Raises when the store or the renderer fails.
    """
    if not REFERENCE.match(reference) or not token:
        return None
    return await asyncio.to_thread(_render, intake, reference, token, large_print)


def _render(store: IntakeStore, reference: str, token: str, large_print: bool) -> bytes | None:
    details = store.read_for_applicant(reference, token)
    if details is None:
        return None
    eligibility: dict[str, Any] = details.eligibility or {}
    items = checklist(
        details.matter_type,
        eligibility.get("facts", {}),
        eligibility.get("assessment", {}),
        details.region,
    )
    return render_application_form(
        dataclasses.asdict(details), items, reference, large_print=large_print
    )


def _page(error: type[web.HTTPException], message: str) -> web.HTTPException:
    # aiohttp sends text as text/plain in UTF-8.
    return error(text=message)
