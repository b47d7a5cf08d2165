"""The run command, as a user meets it: clear one-line failures, clean Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests

from scripts.launcher import PROJECT_DIR, Ports, Stack, StartError, free_port


def launcher(env_overrides: dict[str, str], tmp_path) -> subprocess.Popen:
    env = {**os.environ, "FAYUAN_VAR_DIR": str(tmp_path), **env_overrides}
    return subprocess.Popen(
        [sys.executable, "-m", "scripts.launcher"],
        cwd=PROJECT_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def ports_env() -> dict[str, str]:
    return {
        "RASA_URL": f"http://127.0.0.1:{free_port()}",
        "ACTIONS_URL": f"http://127.0.0.1:{free_port()}",
        "GATEWAY_PORT": str(free_port()),
    }


@pytest.mark.stack  # the trained model: the check for it comes before the ports
def test_a_busy_port_is_one_clear_line(tmp_path):
    env = ports_env()
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", int(env["RASA_URL"].rsplit(":", 1)[1])))
        squatter.listen()
        process = launcher(env, tmp_path)
        out, err = process.communicate(timeout=60)
    assert process.returncode == 1
    error_lines = [line for line in err.splitlines() if line.strip()]
    assert len(error_lines) == 1, err
    assert "Rasa server" in error_lines[0] and "already in use" in error_lines[0]
    assert "Traceback" not in out + err


@pytest.mark.stack  # starts all three processes of its own
def test_run_then_ctrl_c_stops_all_three(tmp_path):
    env = ports_env()
    process = launcher(env, tmp_path)
    try:
        deadline = time.monotonic() + 300
        line = ""
        while "is running" not in line and time.monotonic() < deadline:
            line = process.stdout.readline()
            assert line or process.poll() is None, process.stderr.read()
        assert "http://127.0.0.1:" + env["GATEWAY_PORT"] in line
        replies = requests.post(
            f"http://127.0.0.1:{env['GATEWAY_PORT']}/api/chat",
            json={"message": "你好"},  # the gateway gives the identity
            timeout=30,
        ).json()
        assert "法援助手" in replies[0]["text"]
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "stopped." in out and "Traceback" not in out + err
    for url in (env["RASA_URL"], env["ACTIONS_URL"], f"http://127.0.0.1:{env['GATEWAY_PORT']}"):
        port = int(url.rsplit(":", 1)[1])
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still open"


def test_rasa_reads_any_token_even_one_that_starts_with_a_dash(tmp_path):
    from rasa.__main__ import create_argument_parser

    token = "-x3Yb_Q" + "a" * 36  # what secrets.token_urlsafe makes one time in 64
    stack = Stack(
        ports=Ports.free(),
        model=tmp_path / "model.tar.gz",
        var_dir=tmp_path / "var",
        env={"RASA_TOKEN": token},
    )
    command = stack.services["rasa"].command
    rasa_arguments = command[command.index("rasa_ext.server") + 1 :]
    assert create_argument_parser().parse_args(rasa_arguments).auth_token == token


@pytest.mark.stack  # starts the action server
def test_a_stack_that_cannot_start_leaves_nothing_running(tmp_path):
    model = tmp_path / "model.tar.gz"
    model.write_bytes(b"")  # never read: Rasa is not started here
    # The gateway exits at once on a setting it cannot read, after the action server is up.
    stack = Stack(
        ports=Ports.free(), model=model, var_dir=tmp_path / "var", env={"HOTLINE_PORT": "x"}
    )
    with pytest.raises(StartError, match="gateway"):
        stack.start(("actions", "gateway"))
    actions = stack.services["actions"]
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", actions.port)) != 0, "the action server still listens"
