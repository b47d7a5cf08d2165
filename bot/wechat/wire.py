"""The callback's wire format: signatures, safe XML, safe (AES) mode, passive replies.

wechatpy does the protocol; this module adds what it leaves to its caller: a
size limit, and a defusedxml pass before wechatpy's parser (xmltodict over
expat) sees a byte, so an entity bomb or an external entity is refused
before any work is done. Signatures are compared here in constant time
(`hmac.compare_digest`): wechatpy's `check_signature` and its decryption
compare with `!=`, which leaks how much of a forged signature was right.
With the AES key set, safe mode is enforced: a plaintext message is refused,
since its body is covered by no signature at all.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from collections.abc import Mapping
from dataclasses import dataclass

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring
from wechatpy import parse_message
from wechatpy.crypto import PrpCrypto, WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException
from wechatpy.messages import BaseMessage
from wechatpy.replies import TextReply

# WeChat's callbacks are a few hundred bytes (a long text is 2 kB of UTF-8,
# four thirds of that encrypted); anything far larger is not from WeChat.
MAX_CALLBACK_BYTES = 32 * 1024


class BadCallback(ValueError):
    """A callback body that is not a WeChat message (the reason names no person)."""


@dataclass(frozen=True)
class Wire:
    """The account's token, and its crypto when safe mode is on."""

    token: str
    crypto: WeChatCrypto | None = None

    @classmethod
    def of(cls, token: str, aes_key: str, app_id: str) -> Wire:
        return cls(token, WeChatCrypto(token, aes_key, app_id) if aes_key else None)

    def signed(self, query: Mapping[str, str]) -> bool:
        """Whether the query carries WeChat's signature of (token, timestamp, nonce)."""
        expected = wechat_signature(self.token, query.get("timestamp", ""), query.get("nonce", ""))
        return same_signature(expected, query.get("signature", ""))

    @property
    def safe_mode(self) -> bool:
        return self.crypto is not None

    def message(self, body: bytes, query: Mapping[str, str]) -> BaseMessage:
        """The message of a signed callback, decrypted in safe mode; BadCallback if it is none.

        BadSignature (answered 403) when the message is not provably WeChat's:
        a wrong msg_signature, or plaintext while safe mode is on."""
        xml = checked_xml(body)
        encrypted = query.get("encrypt_type") == "aes"
        if self.safe_mode and not encrypted:
            raise PlaintextRefused("a plaintext message while WECHAT_AES_KEY is set")
        if encrypted:
            if self.crypto is None:
                raise BadCallback("an encrypted message, and no WECHAT_AES_KEY")
            xml = checked_xml(self._decrypt(xml, query).encode())
        try:
            message = parse_message(xml)
            _read_every_field(message)
        except (KeyError, TypeError, AttributeError, ValueError, OverflowError, OSError) as error:
            raise BadCallback(f"not a WeChat message: {type(error).__name__}") from error
        if message is None or not message.source:
            raise BadCallback("a message without its sender")
        return message

    def _decrypt(self, xml: str, query: Mapping[str, str]) -> str:
        """The inner XML, once msg_signature proves the Encrypt field is WeChat's."""
        assert self.crypto is not None
        encrypt = _encrypt_field(xml)
        expected = wechat_signature(
            self.token, query.get("timestamp", ""), query.get("nonce", ""), encrypt
        )
        if not same_signature(expected, query.get("msg_signature", "")):
            raise BadSignature("wrong msg_signature")
        try:
            return PrpCrypto(self.crypto.key).decrypt(encrypt, self.crypto.app_id)
        except (
            InvalidAppIdException,
            KeyError,
            ValueError,
            TypeError,
            # Unpadding a ciphertext that decrypts to too little: a 500 with a
            # right msg_signature (found by the fuzz suite).
            IndexError,
            struct.error,
        ) as error:
            raise BadCallback(f"cannot decrypt: {type(error).__name__}") from error

    def reply(self, message: BaseMessage, text: str, query: Mapping[str, str]) -> str:
        """The passive text reply to `message`, encrypted when it came encrypted."""
        xml = TextReply(message=message, content=text).render()
        if query.get("encrypt_type") == "aes" and self.crypto is not None:
            return self.crypto.encrypt_message(xml, query.get("nonce", ""), query.get("timestamp"))
        return xml


def _read_every_field(message: BaseMessage | None) -> None:
    """Converts every field now. wechatpy converts a field (MsgId, CreateTime…)
    only when it is read, so a MsgId of "abc" or a CreateTime past the year
    9999 raised later, in the middle of answering, as a 500 (found by the fuzz
    suite, tests/security/fuzz); here it is a BadCallback like any other."""
    for name in getattr(message, "_fields", {}):
        getattr(message, name)


class BadSignature(BadCallback):
    """The encrypted message's own signature (msg_signature) is wrong."""


class PlaintextRefused(BadSignature):
    """Plaintext in safe mode: nothing signs its body, so it may not be WeChat's."""


def wechat_signature(*parts: str) -> str:
    """WeChat's signature: SHA-1 of the parts sorted and joined (the token among them)."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def same_signature(expected: str, given: str) -> bool:
    """Constant-time comparison, so a forger learns nothing from how long a refusal took."""
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))


def _encrypt_field(xml: str) -> str:
    """The Encrypt element of a safe-mode body (already checked by `checked_xml`)."""
    element = fromstring(xml, forbid_dtd=True).find("Encrypt")
    if element is None or not element.text:
        raise BadCallback("an encrypted message without Encrypt")
    return element.text


def checked_xml(body: bytes) -> str:
    """The body as text, once it is known to be small, well formed and without a DTD."""
    if len(body) > MAX_CALLBACK_BYTES:
        raise BadCallback(f"{len(body)} bytes")
    try:
        # forbid_dtd: no DOCTYPE at all, so no entities, internal or external.
        fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
        return body.decode("utf-8")
    except (DefusedXmlException, ParseError, UnicodeDecodeError) as error:
        raise BadCallback(f"unsafe or malformed XML: {type(error).__name__}") from error
