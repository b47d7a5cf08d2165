"""A lawyer's messages go only to the person they were written for: asking for
another sender's updates gets nothing and marks nothing delivered."""

from __future__ import annotations

from bot.messages import SENDER_FROM_ELSEWHERE, SENDER_NEEDS_TOKEN
from tests.security.gateway import database, gateway
from tests.test_handoff_store import Centre, request

LAWYER_SAYS = "请把工资条拍照发给我"


async def test_updates_of_another_sender_are_not_handed_over(monkeypatch, tmp_path):
    url = database(tmp_path)
    centre = Centre(url)
    try:
        async with gateway(monkeypatch, url) as (_, victim):
            said = await victim.post("/api/chat", json={"message": "我要找律师"})
            sender = (await said.json())[0]["recipient_id"]
            reference = centre.tickets.create_ticket(request(sender, channel="rest")).reference
            centre.console.claim(reference, "wang")
            centre.console.send_message(reference, LAWYER_SAYS, "wang")

            async with gateway(monkeypatch, url) as (_, attacker):
                named = await attacker.get(f"/api/chat/updates?sender={sender}&after=0")
                assert named.status == 403
                assert (await named.json())["error"] == SENDER_NEEDS_TOKEN
                spoken = await attacker.get(f"/api/voice/updates?sender={sender}&after=0")
                assert spoken.status == 403
                own = await attacker.get("/api/chat/updates?after=0")
                assert own.status == 200 and await own.json() == []
                telegram = await attacker.get("/api/chat/updates?sender=telegram:42&after=0")
                assert (await telegram.json())["error"] == SENDER_FROM_ELSEWHERE

            # Nothing was marked delivered: the person still gets the message.
            mine = await (await victim.get("/api/chat/updates?after=0")).json()
            assert LAWYER_SAYS in [update.get("text") for update in mine]
    finally:
        centre.close()
