"""The cluster of `./dev cluster`: two gateways and two Rasa servers behind
HAProxy with round-robin and no stickiness, sharing Redis and PostgreSQL.

A person talks to one address; the turns of the conversation land on both
gateways and both Rasa servers, and nothing is lost, repeated or out of order.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import time
from collections.abc import Iterator

import aiohttp
import pytest
import requests

from bot.web_identity import SENDER_COOKIE
from scripts.cluster import Cluster
from scripts.launcher import free_port
from scripts.local_postgres import PostgresServer
from scripts.local_redis import RedisServer
from tests.conftest import Conversation
from tests.support.intake_support import MIGRANT_WORKER, answer_all
from tests.test_console import Centre, csrf_in, logged_in
from tests.test_handoff_dialogue import ask_for_lawyer

pytestmark = pytest.mark.stack

PROBLEM = "包工头拖欠我三个月工资不给"
# How long a console waits for the news of a ticket opened elsewhere: a bound
# for a hung test, far below CONSOLE_QUEUE_CHECK_SECONDS.
QUEUE_NEWS_WAIT = 60


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    for reason in (RedisServer.unavailable(), PostgresServer.unavailable()):
        if reason:
            pytest.skip(reason)
    running = Cluster(
        nodes=2,
        gateway_port=free_port(),
        var_dir=tmp_path_factory.mktemp("cluster"),
        # Every test talks from 127.0.0.1: the per-address limits have their own tests.
        env={
            **{f"RATE_LIMIT_{kind}": "0" for kind in ("CHAT", "POLLS", "VOICE", "LOGIN")},
            # espeak-ng, one worker per gateway: the voice is not what is tested here.
            "TTS_ENGINE": "espeak",
            "TTS_WORKERS": "1",
            # Far longer than the wait for news: only the news shows a new ticket.
            "CONSOLE_QUEUE_CHECK_SECONDS": "600",
        },
    )
    running.start()
    try:
        yield running
    finally:
        running.stop()


class Browser:
    """A person in the web chat, with the cookie the gateway gives: no sender named."""

    def __init__(self, cluster: Cluster) -> None:
        self.url = cluster.gateway_url
        self.session = requests.Session()
        self.session.get(f"{self.url}/", timeout=30).raise_for_status()

    def say(self, message: str) -> list[str]:
        response = self.session.post(
            f"{self.url}/api/chat",
            json={"message": message},
            headers={"Origin": self.url},
            timeout=60,
        )
        response.raise_for_status()
        return [reply.get("text") or "" for reply in response.json()]

    def updates_until(self, words: str, polls: int = 10) -> list[str]:
        """The web chat's long poll for a lawyer's messages, until `words` come."""
        heard: list[str] = []
        for _ in range(polls):
            response = self.session.get(
                f"{self.url}/api/chat/updates", params={"after": 0}, timeout=60
            )
            response.raise_for_status()
            heard = [reply.get("text") or "" for reply in response.json()]
            if any(words in text for text in heard):
                break
        return heard


def tracker_events(cluster: Cluster, sender: str) -> list[dict]:
    stack = cluster.stacks[0]
    response = requests.get(
        f"{cluster.rasa_url}/conversations/{sender}/tracker",
        params={"token": stack.rasa_token},
        timeout=30,
    )
    response.raise_for_status()
    return response.json()["events"]


def turns_in_order(events: list[dict]) -> bool:
    """Each message's turn ends (the assistant listens again) before the next begins."""
    listening = True
    for event in events:
        if event["event"] == "user":
            if not listening:
                return False
            listening = False
        elif event["event"] == "action" and event.get("name") == "action_listen":
            listening = True
    return True


def test_a_conversation_alternating_between_gateways_and_rasa_servers_completes(cluster):
    before = {name: cluster.served(name) for name in ("gateways", "rasa")}
    person = Browser(cluster)
    person.say(PROBLEM)
    answer_all(person.say, "帮我查一查能不能申请", MIGRANT_WORKER, "登记申请")
    heard = answer_all(person.say, "现在登记申请", MIGRANT_WORKER, "登记编号是")
    assert any("登记编号是" in text for text in heard)
    for backend, served_before in before.items():
        served = cluster.served(backend)
        new = {server: served[server] - served_before.get(server, 0) for server in served}
        assert len(new) == 2 and all(count > 5 for count in new.values()), (backend, new)


def test_two_messages_of_one_conversation_at_once_are_answered_one_after_the_other(cluster):
    person = Conversation(cluster)
    messages = ["老板拖欠我工资", "我想申请法律援助", "什么是法律援助", "转人工"]
    with concurrent.futures.ThreadPoolExecutor(len(messages)) as pool:
        answers = list(pool.map(person.say, messages))
    assert all(any(reply.get("text") for reply in answer) for answer in answers)
    events = tracker_events(cluster, person.sender)
    said = [event["text"] for event in events if event["event"] == "user"]
    assert sorted(said) == sorted(messages), ("each message once", said)
    assert turns_in_order(events), [(e["event"], e.get("name") or e.get("text")) for e in events]


def test_a_spoken_reply_is_heard_whichever_gateway_its_fetch_reaches(cluster):
    """The voice page fetches each reply's speech after the turn; without
    stickiness the fetch lands on either gateway, and is heard all the same."""
    person = Browser(cluster)
    voices_loaded(cluster)
    response = person.session.post(
        f"{cluster.gateway_url}/api/voice/say",
        json={"message": "法律援助是什么"},
        headers={"Origin": cluster.gateway_url},
        timeout=60,
    )
    response.raise_for_status()
    parts = [part for reply in response.json()["replies"] for part in reply["speech_parts"]]
    assert parts
    before = cluster.served("gateways")
    fetched = [person.session.get(f"{cluster.gateway_url}{part}", timeout=60) for part in parts * 2]
    assert [f.status_code for f in fetched] == [200] * len(fetched)
    assert all(f.content[:4] == b"RIFF" and len(f.content) > 8_000 for f in fetched)
    after = cluster.served("gateways")
    assert all(after[name] > before.get(name, 0) for name in after), "both gateways asked"


def voices_loaded(cluster: Cluster, seconds: float = 120) -> None:
    """Every gateway can speak (the engines load in the background after start)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if all(
            requests.get(f"{stack.gateway_url}/api/voice/status", timeout=10).json()["output"]
            for stack in cluster.stacks
        ):
            return
        time.sleep(1)
    raise AssertionError("a gateway had no voice after two minutes")


async def test_a_ticket_opened_through_one_gateway_reaches_a_console_on_another(cluster):
    """The consoles re-read the queue only every CONSOLE_QUEUE_CHECK_SECONDS (long,
    in this cluster): a ticket opened through gateway A shows on a lawyer's
    console connected to gateway B long before that, by the gateways' news."""
    a, b = cluster.stacks
    centre = Centre(b)
    try:
        lawyer = await asyncio.to_thread(logged_in, centre, centre.wang)
        cookie = "; ".join(f"{c.name}={c.value}" for c in lawyer.cookies)
        async with (
            aiohttp.ClientSession() as http,
            http.ws_connect(
                f"{b.gateway_url}/console/ws",
                headers={"Cookie": cookie, "Origin": b.gateway_url},
            ) as socket,
        ):
            before = json.loads((await socket.receive(timeout=30)).data)["count"]
            person = Conversation(a)
            await asyncio.to_thread(person.say, PROBLEM)
            await asyncio.to_thread(ask_for_lawyer, person)
            update = json.loads((await socket.receive(timeout=QUEUE_NEWS_WAIT)).data)
            assert update["count"] == before + 1
            assert "新来 1 个对话" in update["announce"]
    finally:
        centre.close()


def test_a_rasa_server_stopped_mid_conversation_loses_nothing(cluster):
    person = Browser(cluster)
    first = person.say(PROBLEM)
    cluster.stacks[1].stop(("rasa",))
    said = ["我能不能申请法律援助", "山西省太原市", "是"]
    answers = [person.say(message) for message in said]
    assert all(any(answer) for answer in answers), answers
    assert "农民工" in "\n".join(answers[1]), "the conversation went on where it was"
    assert first and "哪个省" in "\n".join(answers[0])


def test_a_gateway_stopped_mid_handoff_the_lawyers_next_message_arrives(cluster):
    """A person talking with a lawyer; the gateway that carried the conversation
    stops; the lawyer's next message reaches the person through the other one."""
    a, b = cluster.stacks
    centre = Centre(b)
    try:
        person = Browser(cluster)
        person.say(PROBLEM)
        assert "您同意转给律师吗" in "\n".join(person.say("转人工"))
        person.say("同意")
        sender = person.session.cookies.get(SENDER_COOKIE).rpartition(".")[0]
        reference = centre.tickets.open_ticket_for(sender)
        lawyer = logged_in(centre, centre.wang)
        csrf = csrf_in(lawyer.get(f"{centre.url}/", timeout=30).text)
        lawyer.post(f"{centre.url}/claim", data={"reference": reference, "csrf": csrf}, timeout=30)
        a.stop(("gateway",))
        words = "您好，我是王律师，工资的事我来帮您看看。"
        sent = lawyer.post(
            f"{centre.url}/ticket/{reference}/message",
            data={"text": words, "csrf": csrf},
            timeout=30,
        )
        assert sent.status_code == 200
        assert words in "\n".join(person.updates_until(words))
    finally:
        centre.close()
