"""Field encryption for personal data at rest (个人信息保护法), and keyed hashes.

Every encrypted value names the key that encrypted it:

    v1.<key id>.<base64url(nonce | ciphertext and tag)>

so that keys can be rotated: `PII_KEY` holds one or more keys,
`kid1:base64key,kid2:base64key`; the first encrypts, every one decrypts. AES-GCM's
associated data binds a value to its column (and key id): a ciphertext copied into
another column, or edited, fails to decrypt instead of showing the wrong data.

Without `PII_KEY`, the embedded default reads the same format from a local key
file, `var/pii.key` (`PII_KEY_FILE` moves it); `python -m store.crypto generate`
writes one. Lookups (a phone number, a conversation) use HMACs whose keys are
derived from the master keys with HKDF, one derived key per purpose, so that a
lookup hash never equals anything computed with the encryption key itself.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import secrets
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PROJECT_DIR = Path(__file__).resolve().parent.parent
FORMAT_VERSION = "v1"
NONCE_BYTES = 12  # AES-GCM's standard nonce; random per value
KEY_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
AES_KEY_SIZES = (16, 24, 32)

# Purposes of the derived HMAC keys; changing one invalidates every stored hash.
PHONE_LOOKUP = "phone lookup"
CONVERSATION_LOOKUP = "conversation lookup"
DOCUMENT_TOKEN = "document token"
CONTINUATION_CODE = "continuation code"  # 接续码 (store/links.py)
CONTINUATION_GUESSER = "continuation guesser"
CONTINUATION_CONFIRMATION = "continuation confirmation"  # 确认接续 (store/links.py)


class StoreCryptoError(RuntimeError):
    """Key and ciphertext problems; messages never carry a key or a plaintext."""


class KeyMissingError(StoreCryptoError):
    """Neither PII_KEY nor a key file is there."""


class KeyFormatError(StoreCryptoError):
    """PII_KEY or the key file is not `kid:base64key[,kid:base64key…]`."""


class DecryptionError(StoreCryptoError):
    """A stored value is damaged, moved to another column, or its key is unknown."""


def missing_key_message(key_file: Path) -> str:
    return (
        f"没有找到个人信息加密密钥：未设置环境变量 PII_KEY，密钥文件 {key_file} 也不存在。"
        "本机使用请运行 ./dev setup（或 python -m store.crypto generate）生成密钥文件；"
        "生产环境请设置 PII_KEY。\n"
        f"No encryption key for personal data: PII_KEY is not set and the key file {key_file} "
        "does not exist. On one machine run ./dev setup (or python -m store.crypto generate) "
        "to create it; in production set PII_KEY."
    )


@dataclass(frozen=True)
class KeyRing:
    """Named AES keys; the first encrypts, all of them decrypt."""

    # Never in a repr: a KeyRing that ends up in a log or a traceback shows no key.
    keys: tuple[tuple[str, bytes], ...] = field(repr=False)

    def __post_init__(self) -> None:
        ids = [kid for kid, _ in self.keys]
        if len(set(ids)) != len(ids):
            raise KeyFormatError("a key id appears twice / 密钥编号重复")

    @property
    def current_id(self) -> str:
        return self.keys[0][0]

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(kid for kid, _ in self.keys)

    def key(self, kid: str) -> bytes:
        for candidate, key in self.keys:
            if candidate == kid:
                return key
        raise DecryptionError(f"value encrypted with unknown key id {kid!r} / 未知的密钥编号")

    @classmethod
    def parse(cls, text: str, source: str = "PII_KEY") -> KeyRing:
        """`kid1:base64key,kid2:base64key` (commas or newlines between keys).

        `source` names where the text came from in error messages.
        """
        # A key file may carry comments: "#" to the end of a line.
        lines = [line.split("#", 1)[0] for line in text.splitlines()]
        entries = [entry.strip() for line in lines for entry in line.split(",") if entry.strip()]
        if not entries:
            raise KeyFormatError(f"{source}: no key / 没有密钥")
        try:
            return cls(tuple(_parse_entry(entry) for entry in entries))
        except KeyFormatError as error:
            raise KeyFormatError(f"{source}: {error}") from None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> KeyRing:
        """PII_KEY when set, else the key file (PII_KEY_FILE or the default path)."""
        if environ.get("PII_KEY", "").strip():
            return cls.parse(environ["PII_KEY"])
        key_file = key_file_path(environ)
        if not key_file.is_file():
            raise KeyMissingError(missing_key_message(key_file))
        return cls.parse(key_file.read_text(encoding="utf-8"), source=str(key_file))

    # Encryption --------------------------------------------------------------

    def encrypt(self, plaintext: str, column: str) -> str:
        """An authenticated ciphertext of `plaintext`, bound to `column`."""
        kid = self.current_id
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = AESGCM(self.key(kid)).encrypt(
            nonce, plaintext.encode("utf-8"), _associated_data(column, kid)
        )
        return token_prefix(kid) + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")

    def decrypt(self, token: str, column: str) -> str:
        """The plaintext of a value `encrypt` made for the same column."""
        kid, blob = _split_token(token)
        nonce, sealed = blob[:NONCE_BYTES], blob[NONCE_BYTES:]
        try:
            plaintext = AESGCM(self.key(kid)).decrypt(nonce, sealed, _associated_data(column, kid))
        except InvalidTag:
            raise DecryptionError(
                f"{column}: value damaged or not written for this column / 密文已损坏或不属于该字段"
            ) from None
        return plaintext.decode("utf-8")

    def needs_rotation(self, token: str) -> bool:
        """True when `token` was encrypted with a key other than the current one."""
        kid, _ = _split_token(token)
        return kid != self.current_id

    # Keyed hashes ------------------------------------------------------------

    def lookup_hash(self, value: str, purpose: str, kid: str | None = None) -> str:
        """`<kid>:<hex HMAC-SHA256>` of `value`, with a key derived for `purpose`."""
        kid = kid or self.current_id
        digest = hmac.new(self.derived_key(purpose, kid), value.encode("utf-8"), hashlib.sha256)
        return hash_prefix(kid) + digest.hexdigest()

    def lookup_hashes(self, value: str, purpose: str) -> list[str]:
        """The hash of `value` under every key: rows written before a rotation match too."""
        return [self.lookup_hash(value, purpose, kid) for kid in self.key_ids]

    def derived_key(self, purpose: str, kid: str) -> bytes:
        return HKDF(
            algorithm=hashes.SHA256(),
            length=32,
            salt=b"fayuan-zhushou store",
            info=f"{purpose} / {kid}".encode(),
        ).derive(self.key(kid))


def token_prefix(kid: str) -> str:
    """How every value encrypted with key `kid` begins: a query can select by it."""
    return f"{FORMAT_VERSION}.{kid}."


def hash_prefix(kid: str) -> str:
    """How every keyed hash made with key `kid` begins."""
    return f"{kid}:"


def reencrypt(keys: KeyRing, token: str | None, column: str) -> str | None:
    """`token` re-encrypted with the current key; None when it already uses it (or is None)."""
    if token is None or not keys.needs_rotation(token):
        return None
    return keys.encrypt(keys.decrypt(token, column), column)


def _parse_entry(entry: str) -> tuple[str, bytes]:
    kid, separator, encoded = entry.partition(":")
    kid = kid.strip()
    if not separator or not KEY_ID_PATTERN.match(kid):
        raise KeyFormatError(
            "keys must look like kid1:base64key,kid2:base64key (key ids: letters, digits, _ -)"
            " / 格式应为 编号:base64密钥，多个以逗号分隔"
        )
    try:
        key = base64.b64decode(_pad(encoded.strip()), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise KeyFormatError(f"key {kid!r} is not base64 / 密钥不是 base64") from None
    if len(key) not in AES_KEY_SIZES:
        raise KeyFormatError(
            f"key {kid!r} has {len(key)} bytes; AES needs 16, 24 or 32 (32 recommended)"
            " / 密钥长度应为 32 字节"
        )
    return kid, key


def _pad(encoded: str) -> str:
    return encoded + "=" * (-len(encoded) % 4)


def _associated_data(column: str, kid: str) -> bytes:
    return f"fayuan-zhushou|{FORMAT_VERSION}|{column}|{kid}".encode()


def _split_token(token: str) -> tuple[str, bytes]:
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != FORMAT_VERSION:
        raise DecryptionError("not an encrypted value of this store / 不是本系统的加密数据")
    try:
        blob = base64.urlsafe_b64decode(parts[2].encode("ascii"))
    except (binascii.Error, ValueError):
        raise DecryptionError("encrypted value damaged / 密文已损坏") from None
    if len(blob) <= NONCE_BYTES:
        raise DecryptionError("encrypted value damaged / 密文已损坏")
    return parts[1], blob


# Key files -------------------------------------------------------------------


def key_file_path(environ: Mapping[str, str]) -> Path:
    """PII_KEY_FILE, else pii.key in the var folder (FAYUAN_VAR_DIR moves it, as it
    moves the databases for the launcher)."""
    if environ.get("PII_KEY_FILE"):
        return Path(environ["PII_KEY_FILE"])
    var_dir = Path(environ.get("FAYUAN_VAR_DIR") or PROJECT_DIR / "var")
    return var_dir / "pii.key"


def new_key_entry() -> str:
    """`kid:base64key` for a fresh random 256-bit key."""
    kid = "k" + secrets.token_hex(4)
    return f"{kid}:{base64.b64encode(secrets.token_bytes(32)).decode('ascii')}"


def generate_key_file(path: Path) -> Path:
    """Write a new key file readable only by its owner; never overwrite one.

    Overwriting would make every record encrypted with the old key unreadable.
    """
    text = (
        "# 法援助手: the key that encrypts personal data in the store.\n"
        "# Keep it and back it up: without it the records cannot be read.\n"
        "# Rotation: put a new kid:key line FIRST, keep the old one, run\n"
        "#   python -m store rotate-key\n"
        f"{new_key_entry()}\n"
    ).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as key_file:
        key_file.write(text)
    os.chmod(path, 0o600)  # exactly owner read/write, whatever the umask made of it
    return path


def ensure_local_key(environ: Mapping[str, str]) -> Path | None:
    """Create the local key file when PII_KEY is unset and the file is missing.

    Returns the path of a newly created file, else None.
    """
    if environ.get("PII_KEY", "").strip():
        return None
    path = key_file_path(environ)
    if path.exists():
        return None
    try:
        return generate_key_file(path)
    except FileExistsError:  # another process created it meanwhile
        return None


def main(argv: list[str]) -> int:
    """`python -m store.crypto generate [PATH]` | `ensure-local-key`."""
    from store.settings import environment

    command = argv[0] if argv else ""
    if command == "generate":
        path = Path(argv[1]) if len(argv) > 1 else key_file_path(environment())
        if path.exists():
            print(
                f"密钥文件已存在，未覆盖 / key file exists, not overwritten: {path}",
                file=sys.stderr,
            )
            return 1
        print(generate_key_file(path))
        return 0
    if command == "ensure-local-key":
        created = ensure_local_key(environment())
        if created:
            print(created)
        return 0
    if command == "new-key":
        print(new_key_entry())
        return 0
    print(
        "usage: python -m store.crypto generate [PATH] | ensure-local-key | new-key",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
