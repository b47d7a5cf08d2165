"""The telephone system's side, without a gateway: AMI and ARI as Asterisk speaks
them (tests/support/fake_asterisk.py), the callback times offered, numbers as read out."""

from __future__ import annotations

from datetime import datetime, timezone

import aiohttp
import pytest

from bot.hotline.person import callback_slots, spoken_digits, valid_phone
from bot.hotline.telephony import (
    AmiTelephony,
    AriTelephony,
    Line,
    TelephonyError,
    TelephonyRefused,
    caller_number,
)
from legal_aid.times import CHINA_TIME
from scripts.launcher import free_port
from tests.support import fake_asterisk
from tests.support.audiosocket_sim import SimulatedCall
from tests.support.fake_asterisk import FakeAsterisk

AUDIOSOCKET_PORT = 9092  # only written in the channels' AudioSocket() data


def china(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=CHINA_TIME)


@pytest.mark.parametrize(
    ("now", "first_three"),
    [
        (china(5, 7, 59), [china(5, 9), china(5, 14), china(6, 9)]),
        (china(5, 8, 1), [china(5, 14), china(6, 9), china(6, 14)]),  # 9:00 is too soon
        (china(5, 13, 30), [china(6, 9), china(6, 14), china(7, 9)]),
        (china(5, 23, 0), [china(6, 9), china(6, 14), china(7, 9)]),
    ],
)
def test_callback_times_are_office_hours_at_least_an_hour_ahead(now, first_three):
    assert callback_slots(now.astimezone(timezone.utc)) == first_three


@pytest.mark.parametrize(
    ("digits", "valid"),
    [("13812345678", True), ("01012345678", True), ("0755-1234567", True), ("12345", False)],
)
def test_callback_numbers(digits, valid):
    assert valid_phone(digits) is valid


def test_numbers_are_read_digit_by_digit_with_yao_for_one():
    assert spoken_digits("13812345670") == "幺三八幺二三四五六七零"


@pytest.mark.parametrize(
    ("passed", "number"),
    [
        ("13812345678", "13812345678"),
        ("+8613812345678", "13812345678"),
        ("0086 138-1234-5678", "13812345678"),
        ("<unknown>", None),
        ("anonymous", None),
        ("", None),
    ],
)
def test_the_caller_number_as_telephone_systems_pass_it(passed, number):
    assert caller_number(passed) == number


# AMI ----------------------------------------------------------------------------


@pytest.fixture
async def ami():
    asterisk = FakeAsterisk()
    port = free_port()
    await asterisk.start_ami(port)
    manager = AmiTelephony(
        "127.0.0.1",
        port,
        fake_asterisk.USER,
        fake_asterisk.SECRET,
        queue=fake_asterisk.QUEUE,
        context="hotline-transfer",
    )
    try:
        yield asterisk, manager
    finally:
        await manager.close()
        await asterisk.close()


async def test_ami_finds_the_calls_channel_and_number(ami):
    asterisk, manager = ami
    other, ours, withheld = SimulatedCall(0), SimulatedCall(0), SimulatedCall(0)
    asterisk.add_call(other, AUDIOSOCKET_PORT, caller="13900000000")
    channel = asterisk.add_call(ours, AUDIOSOCKET_PORT, caller="+8613812345678")
    asterisk.add_call(withheld, AUDIOSOCKET_PORT, caller=None)
    assert await manager.line_of(ours.call_id) == Line(channel.name, "13812345678")
    assert (await manager.line_of(withheld.call_id)).caller_number is None
    assert await manager.line_of(SimulatedCall(0).call_id) is None
    # The number is personal data: it is never in a log line that prints the line.
    assert "138" not in repr(await manager.line_of(ours.call_id))


async def test_ami_counts_the_free_and_redirects_with_the_ticket(ami):
    asterisk, manager = ami
    assert await manager.free_people() == 0
    asterisk.free = 2
    assert await manager.free_people() == 2
    call = SimulatedCall(0)
    channel = asterisk.add_call(call, AUDIOSOCKET_PORT, caller=None)
    await manager.transfer(Line(channel.name), "HA-000042")
    assert channel.variables == {"LEGAL_AID_TICKET": "HA-000042"}
    assert channel.redirected_to == ("hotline-transfer", fake_asterisk.QUEUE, "1")
    assert asterisk.actions.count("login") == 1  # one connection for all of it


async def test_ami_connects_again_after_asterisk_drops_it(ami):
    asterisk, manager = ami
    assert await manager.free_people() == 0
    asterisk.drop_managers()  # Asterisk restarted, or a firewall timed the connection out
    asterisk.free = 1
    assert await manager.free_people() == 1
    assert asterisk.actions.count("login") == 2


async def test_ami_refusals_are_not_retried(ami):
    asterisk, manager = ami
    with pytest.raises(TelephonyRefused, match="Channel specified does not exist"):
        await manager.transfer(Line("PJSIP/gone-00000001"), None)
    wrong = AmiTelephony(
        "127.0.0.1", manager.port, fake_asterisk.USER, "not-the-secret", queue="q", context="c"
    )
    with pytest.raises(TelephonyRefused, match="login failed"):
        await wrong.free_people()
    assert asterisk.failed_logins == 1
    await wrong.close()


async def test_ami_that_is_not_there_is_an_error_safe_to_log():
    manager = AmiTelephony("127.0.0.1", free_port(), "u", "s", queue="q", context="c")
    with pytest.raises(TelephonyError) as raised:
        await manager.free_people()
    assert "AMI Getvar" in str(raised.value)


# ARI ----------------------------------------------------------------------------


@pytest.fixture
async def ari():
    asterisk = FakeAsterisk()
    port = free_port()
    await asterisk.start_ari(port)
    async with aiohttp.ClientSession() as http:
        yield asterisk, port, http
    await asterisk.close()


def ari_of(port: int, http: aiohttp.ClientSession, secret: str = fake_asterisk.SECRET):
    return AriTelephony(
        http, f"http://127.0.0.1:{port}/ari", fake_asterisk.USER, secret, queue="legal-aid"
    )


async def test_ari_finds_the_channel_counts_the_free_and_sets_the_queue(ari):
    asterisk, port, http = ari
    rest = ari_of(port, http)
    call = SimulatedCall(0)
    channel = asterisk.add_call(call, AUDIOSOCKET_PORT, caller="13812345678")
    line = await rest.line_of(call.call_id)
    assert line == Line(channel.unique_id, "13812345678")
    asterisk.free = 1
    assert await rest.free_people() == 1
    await rest.transfer(line, "HA-000007")
    assert channel.variables == {"LEGAL_AID_TICKET": "HA-000007", "LEGAL_AID_TRANSFER": "legal-aid"}


async def test_ari_with_the_wrong_password_is_an_error(ari):
    asterisk, port, http = ari
    with pytest.raises(TelephonyError, match="401"):
        await ari_of(port, http, "wrong").free_people()
    assert asterisk.failed_logins == 1
