"""Gateway configuration from environment variables (and a `.env` file if present).

The names are the public contract of DESIGN.md; every value has an embedded
default so that the assistant runs on one machine with no configuration.

Who is speaking on the web (bot/web_identity.py):

    GATEWAY_API_TOKEN         a secret for trusted server-to-server callers of
                              /api/chat, /api/chat/updates and /api/voice/*: with
                              `Authorization: Bearer <token>` they may name a
                              `sender` (never a Telegram, WeChat or hotline one);
                              unset = nobody may name one
    TRUSTED_PROXIES           the reverse proxies' addresses (comma-separated) whose
                              X-Forwarded-Proto and X-Forwarded-For are believed:
                              behind them cookies are Secure and HSTS is sent when
                              the proxy says https, and limits count the client's
                              address; from anyone else those headers are ignored
    REDIS_URL                 what the gateway remembers between requests (WeChat's
                              and Telegram's duplicates, nonces) in Redis, shared by
                              every gateway behind a load balancer; unset = in this
                              process's memory (one gateway: the embedded default)
    GATEWAY_INTERNAL_URL      where the other gateways reach this one (default
                              http://GATEWAY_HOST:GATEWAY_PORT): a voice page's fetch
                              of a reply's speech that lands on another gateway is
                              passed to the one that made it; set it to the pod's
                              address when the gateway listens on 0.0.0.0
    CONTINUATION_CODE_MINUTES how long a 接续码 is valid (default 10; read by
                              store/links.py, for the gateway and the action server)

Telegram (bot/telegram/) is off unless TELEGRAM_TOKEN is set:

    TELEGRAM_TOKEN            the bot's token from @BotFather; unset = no Telegram
    TELEGRAM_API_BASE         the Bot API base up to and including `/bot`
                              (default https://api.telegram.org/bot); files are
                              fetched from the same base with `/file/bot`
    TELEGRAM_WEBHOOK_URL      the public https URL that reaches this gateway's
                              /telegram/webhook; unset = long polling (one gateway only)
    TELEGRAM_WEBHOOK_SECRET   the secret Telegram sends in X-Telegram-Bot-Api-Secret-Token
                              (1-256 of A-Z a-z 0-9 _ -); unset = derived from the token,
                              so that every gateway instance agrees on it

The hotline (bot/hotline/, Asterisk's AudioSocket) is off unless HOTLINE_PORT is set:

    HOTLINE_PORT              the AudioSocket port; 9092 by convention (DESIGN.md).
                              Unset = no hotline: only the gateway that Asterisk
                              dials should listen (several gateways, and the
                              tests' gateways, share a machine)
    HOTLINE_HOST              the address it listens on (default 127.0.0.1: the
                              audio is unencrypted; put Asterisk on the same host
                              or a private network and set this to that address)
    HOTLINE_SILENCE_SECONDS   silence before a re-prompt (default 8)
    HOTLINE_MAX_CALL_SECONDS  the longest call (default 1200)
    HOTLINE_MAX_CALLS         calls answered at once (default 20, what bench.hotline
                              measures on two cores); one more hears "busy, call
                              12348 again" and is hung up (bot/hotline/busy.py)

A person for the caller (bot/hotline/person.py): transfers go through Asterisk,
callbacks through the handoff ticket. Unset HOTLINE_TRANSFER = callbacks only.

    HOTLINE_TRANSFER          ami (the manager interface) or ari (the REST interface)
    HOTLINE_QUEUE             the Asterisk queue of the hotline's operators and
                              lawyers (default legal-aid); a transfer goes to it
                              when QUEUE_MEMBER(queue,free) is above 0
    HOTLINE_TRANSFER_CONTEXT  the dialplan context whose extension HOTLINE_QUEUE
                              AMI's Redirect sends the call to (default hotline-transfer)
    HOTLINE_WAIT_CHECK_SECONDS  how often a waiting caller's transfer is tried (default 10)
    HOTLINE_MAX_WAIT_SECONDS  waiting this long, the caller is offered a callback again
                              (default 180)
    ASTERISK_AMI_HOST, ASTERISK_AMI_PORT (default 127.0.0.1, 5038),
    ASTERISK_AMI_USER, ASTERISK_AMI_SECRET        a manager.conf user with the
                              call, reporting and system read/write classes
    ASTERISK_ARI_URL (default http://127.0.0.1:8088/ari),
    ASTERISK_ARI_USER, ASTERISK_ARI_PASSWORD      an ari.conf user
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from dotenv import dotenv_values

from store import DEFAULT_DATABASE_URL


@dataclass(frozen=True)
class Config:
    rasa_url: str = "http://127.0.0.1:5005"
    # Rasa's --auth-token: its HTTP API (trackers, status) answers only with it.
    rasa_token: str = field(default="", repr=False)
    actions_url: str = "http://127.0.0.1:5055"
    database_url: str = DEFAULT_DATABASE_URL
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8080
    # A turn that takes longer than this gets the polite "busy" answer.
    rasa_timeout_seconds: float = 15.0
    # Longest message accepted from a user; longer ones are answered politely.
    max_message_chars: int = 2000
    # Requests per minute per client address, by kind (bot/limits.py); 0 = off.
    rate_limit_chat: int = 60
    rate_limit_polls: int = 120
    rate_limit_voice: int = 30
    rate_limit_login: int = 10
    # Reverse proxies whose X-Forwarded-For names the client (comma-separated addresses).
    trusted_proxies: tuple[str, ...] = ()
    # Secrets are kept out of the repr, so a logged Config never shows them.
    telegram_token: str = field(default="", repr=False)
    telegram_api_base: str = "https://api.telegram.org/bot"
    telegram_webhook_url: str = ""
    telegram_webhook_secret: str = field(default="", repr=False)
    # The WeChat official account (bot/wechat/): off while the token is empty.
    # The token signs every callback; the AES key (43 characters, from the
    # account's settings) turns on safe mode; the app id and secret get the
    # access token of the customer-service message and media APIs.
    wechat_token: str = field(default="", repr=False)
    wechat_app_id: str = ""
    wechat_app_secret: str = field(default="", repr=False)
    wechat_aes_key: str = field(default="", repr=False)
    wechat_api_base: str = "https://api.weixin.qq.com/cgi-bin/"
    # WeChat waits five seconds for the answer to a callback: an answer not
    # ready by then goes by the customer-service API instead.
    wechat_reply_seconds: float = 4.5
    hotline_port: int = 0  # 0: no hotline
    hotline_host: str = "127.0.0.1"
    hotline_silence_seconds: float = 8.0
    hotline_max_call_seconds: float = 1200.0
    hotline_max_calls: int = 20
    hotline_transfer: str = ""  # "", "ami" or "ari"
    hotline_queue: str = "legal-aid"
    hotline_transfer_context: str = "hotline-transfer"
    hotline_wait_check_seconds: float = 10.0
    hotline_max_wait_seconds: float = 180.0
    asterisk_ami_host: str = "127.0.0.1"
    asterisk_ami_port: int = 5038
    asterisk_ami_user: str = ""
    asterisk_ami_secret: str = field(default="", repr=False)
    asterisk_ari_url: str = "http://127.0.0.1:8088/ari"
    asterisk_ari_user: str = ""
    asterisk_ari_password: str = field(default="", repr=False)
    gateway_api_token: str = field(default="", repr=False)
    # A URL may carry Redis's password: kept out of the repr.
    redis_url: str = field(default="", repr=False)
    gateway_internal_url: str = ""

    @property
    def internal_url(self) -> str:
        """Where the other gateways reach this one."""
        return self.gateway_internal_url or f"http://{self.gateway_host}:{self.gateway_port}"

    def rate_limits(self) -> dict[str, int]:
        """Per-minute limits by kind of request (bot/limits.py)."""
        return {
            "chat": self.rate_limit_chat,
            "polls": self.rate_limit_polls,
            "voice": self.rate_limit_voice,
            "login": self.rate_limit_login,
        }

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Config:
        """Read the configuration; real environment variables win over `.env`."""
        env = {**dotenv_values(".env"), **(os.environ if environ is None else environ)}

        def get(name: str, default: object) -> str:
            value = env.get(name)
            return str(default) if value in (None, "") else str(value)

        return cls(
            rasa_url=get("RASA_URL", cls.rasa_url).rstrip("/"),
            rasa_token=get("RASA_TOKEN", ""),
            actions_url=get("ACTIONS_URL", cls.actions_url).rstrip("/"),
            database_url=get("DATABASE_URL", cls.database_url),
            gateway_host=get("GATEWAY_HOST", cls.gateway_host),
            gateway_port=int(get("GATEWAY_PORT", cls.gateway_port)),
            rasa_timeout_seconds=float(get("RASA_TIMEOUT", cls.rasa_timeout_seconds)),
            rate_limit_chat=int(get("RATE_LIMIT_CHAT", cls.rate_limit_chat)),
            rate_limit_polls=int(get("RATE_LIMIT_POLLS", cls.rate_limit_polls)),
            rate_limit_voice=int(get("RATE_LIMIT_VOICE", cls.rate_limit_voice)),
            rate_limit_login=int(get("RATE_LIMIT_LOGIN", cls.rate_limit_login)),
            trusted_proxies=tuple(
                part.strip() for part in get("TRUSTED_PROXIES", "").split(",") if part.strip()
            ),
            telegram_token=get("TELEGRAM_TOKEN", "").strip(),
            telegram_api_base=get("TELEGRAM_API_BASE", cls.telegram_api_base).rstrip("/"),
            telegram_webhook_url=get("TELEGRAM_WEBHOOK_URL", ""),
            telegram_webhook_secret=get("TELEGRAM_WEBHOOK_SECRET", ""),
            wechat_token=get("WECHAT_TOKEN", cls.wechat_token),
            wechat_app_id=get("WECHAT_APP_ID", cls.wechat_app_id),
            wechat_app_secret=get("WECHAT_APP_SECRET", cls.wechat_app_secret),
            wechat_aes_key=get("WECHAT_AES_KEY", cls.wechat_aes_key),
            # Always ending in "/": wechatpy appends the endpoint ("token", "media/get").
            wechat_api_base=get("WECHAT_API_BASE", cls.wechat_api_base).rstrip("/") + "/",
            hotline_port=int(get("HOTLINE_PORT", cls.hotline_port)),
            hotline_host=get("HOTLINE_HOST", cls.hotline_host),
            hotline_silence_seconds=float(
                get("HOTLINE_SILENCE_SECONDS", cls.hotline_silence_seconds)
            ),
            hotline_max_call_seconds=float(
                get("HOTLINE_MAX_CALL_SECONDS", cls.hotline_max_call_seconds)
            ),
            hotline_max_calls=int(get("HOTLINE_MAX_CALLS", cls.hotline_max_calls)),
            hotline_transfer=get("HOTLINE_TRANSFER", "").strip().lower(),
            hotline_queue=get("HOTLINE_QUEUE", cls.hotline_queue),
            hotline_transfer_context=get("HOTLINE_TRANSFER_CONTEXT", cls.hotline_transfer_context),
            hotline_wait_check_seconds=float(
                get("HOTLINE_WAIT_CHECK_SECONDS", cls.hotline_wait_check_seconds)
            ),
            hotline_max_wait_seconds=float(
                get("HOTLINE_MAX_WAIT_SECONDS", cls.hotline_max_wait_seconds)
            ),
            asterisk_ami_host=get("ASTERISK_AMI_HOST", cls.asterisk_ami_host),
            asterisk_ami_port=int(get("ASTERISK_AMI_PORT", cls.asterisk_ami_port)),
            asterisk_ami_user=get("ASTERISK_AMI_USER", ""),
            asterisk_ami_secret=get("ASTERISK_AMI_SECRET", ""),
            asterisk_ari_url=get("ASTERISK_ARI_URL", cls.asterisk_ari_url).rstrip("/"),
            asterisk_ari_user=get("ASTERISK_ARI_USER", ""),
            asterisk_ari_password=get("ASTERISK_ARI_PASSWORD", ""),
            gateway_api_token=get("GATEWAY_API_TOKEN", "").strip(),
            redis_url=get("REDIS_URL", "").strip(),
            gateway_internal_url=get("GATEWAY_INTERNAL_URL", "").strip().rstrip("/"),
        )
