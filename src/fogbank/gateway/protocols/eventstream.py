"""The AWS event-stream encoding (``application/vnd.amazon.eventstream``), for responses.

A message is a prelude (total length, headers length, CRC32 of those 8 bytes),
headers (name length, name, type 7 = string, value length, value), the payload and
a CRC32 of everything before it. botocore decodes it (``botocore.eventstream``);
fogbank only ever writes it. JSON services open with an ``initial-response`` event
holding the non-stream output members, then one event per item, and end with an
``exception`` message when a failure comes mid-stream.
"""

from __future__ import annotations

import binascii
import struct

CONTENT_TYPE = "application/vnd.amazon.eventstream"
_STRING = 7


def encode_message(headers: dict[str, str], payload: bytes) -> bytes:
    encoded = b"".join(_header(name, value) for name, value in headers.items())
    total = 12 + len(encoded) + len(payload) + 4
    prelude = struct.pack(">II", total, len(encoded))
    prelude += struct.pack(">I", binascii.crc32(prelude))
    message = prelude + encoded + payload
    return message + struct.pack(">I", binascii.crc32(message))


def event(event_type: str, payload: bytes, content_type: str = "application/json") -> bytes:
    return encode_message(
        {
            ":message-type": "event",
            ":event-type": event_type,
            ":content-type": content_type,
        },
        payload,
    )


def exception(code: str, payload: bytes) -> bytes:
    return encode_message(
        {
            ":message-type": "exception",
            ":exception-type": code,
            ":content-type": "application/json",
        },
        payload,
    )


def _header(name: str, value: str) -> bytes:
    raw_name = name.encode("utf-8")
    raw_value = value.encode("utf-8")
    return (
        struct.pack(">B", len(raw_name))
        + raw_name
        + struct.pack(">BH", _STRING, len(raw_value))
        + raw_value
    )
