"""The event-stream encoder, checked against botocore's own decoder."""

from __future__ import annotations

from botocore.eventstream import EventStreamBuffer
from hypothesis import given
from hypothesis import strategies as st

from fogbank.gateway.protocols import eventstream

_names = st.text(
    st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=40
).filter(lambda name: not name.startswith(":"))


@given(
    headers=st.dictionaries(_names, st.text(max_size=200), max_size=5),
    payload=st.binary(max_size=5000),
)
def test_botocore_decodes_what_fogbank_encodes(headers: dict[str, str], payload: bytes) -> None:
    buffer = EventStreamBuffer()
    buffer.add_data(eventstream.encode_message(headers, payload))
    (message,) = list(buffer)
    assert message.headers == headers
    assert message.payload == payload


def test_messages_split_anywhere_still_decode() -> None:
    stream = eventstream.event("A", b'{"x":1}') + eventstream.exception("Boom", b'{"message":"m"}')
    buffer = EventStreamBuffer()
    decoded = []
    for i in range(0, len(stream), 7):
        buffer.add_data(stream[i : i + 7])
        decoded.extend(buffer)
    assert [m.headers[":message-type"] for m in decoded] == ["event", "exception"]
    assert decoded[1].headers[":exception-type"] == "Boom"
