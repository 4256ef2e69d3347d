"""Server-side encryption of stream records: AES-GCM envelopes under keys kept in the home.

fogbank has no KMS: a KMS key id (a key id or ARN, an alias or alias ARN, or
``alias/aws/kinesis``) names a 256-bit key that fogbank makes the first time it is
used and keeps under ``<home>/streams/.keys/``. While a stream's encryption is on,
each record's data is stored as ``nonce || AES-GCM(data)`` with the partition key
as associated data, so a record cannot be moved to another key undetected.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from fogbank.core.errors import FogbankError, InvalidArgumentException

_NONCE_BYTES = 12
_KEY_ID_RE = re.compile(
    r"^(alias/[a-zA-Z0-9/_-]+"
    r"|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|mrk-[0-9a-f]{32}"
    r"|arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key/[A-Za-z0-9-]+|alias/[a-zA-Z0-9/_-]+))$"
)


class KeyRing:
    """The home's data keys, one per KMS key id, made on first use."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._keys: dict[str, AESGCM] = {}

    @staticmethod
    def check(key_id: str) -> None:
        if not _KEY_ID_RE.match(key_id):
            raise InvalidArgumentException(
                f"KeyId {key_id!r} is not a KMS key id: give a key id, key ARN, alias name "
                "(alias/...) or alias ARN, such as alias/aws/kinesis."
            )

    def encrypt(self, key_id: str, data: bytes, partition_key: str) -> bytes:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        return nonce + self._cipher(key_id).encrypt(nonce, data, partition_key.encode("utf-8"))

    def decrypt(self, key_id: str, sealed: bytes, partition_key: str) -> bytes:
        nonce, body = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
        try:
            return self._cipher(key_id).decrypt(nonce, body, partition_key.encode("utf-8"))
        except InvalidTag:
            raise FogbankError(
                f"A record encrypted under {key_id} failed its integrity check: the stream's "
                "file was changed outside fogbank.",
                code="InternalFailure",
            ) from None

    def _cipher(self, key_id: str) -> AESGCM:
        cipher = self._keys.get(key_id)
        if cipher is None:
            cipher = AESGCM(self._material(key_id))
            self._keys[key_id] = cipher
        return cipher

    def _material(self, key_id: str) -> bytes:
        path = self.root / hashlib.sha256(key_id.encode("utf-8")).hexdigest()
        if not path.exists():
            self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
            temporary = path.with_name(f"{path.name}.{secrets.token_hex(4)}")
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.write(fd, AESGCM.generate_key(bit_length=256))
                os.fsync(fd)
            finally:
                os.close(fd)
            try:
                os.link(temporary, path)  # the first process to make the key wins
            except FileExistsError:
                pass
            finally:
                temporary.unlink(missing_ok=True)
        return path.read_bytes()
