"""Continuation tokens of the pull API (refclm.ctoken): signed, opaque, never made up."""

import pytest

from refclm.ctoken import CtokenInvalid, ListingPosition, ctoken_decode, ctoken_encode

KEY = "test-key"


def test_token_round_trips_its_position():
    position = ListingPosition(since=10, upto=250, after=110)
    assert ctoken_decode(ctoken_encode(position, key=KEY), key=KEY) == position


def test_made_up_token_is_refused():
    with pytest.raises(CtokenInvalid):
        ctoken_decode("page-2", key=KEY)


def test_token_signed_with_another_key_is_refused():
    token = ctoken_encode(ListingPosition(since=0, upto=5, after=2), key="other-key")
    with pytest.raises(CtokenInvalid):
        ctoken_decode(token, key=KEY)


def test_altered_token_is_refused():
    token = ctoken_encode(ListingPosition(since=0, upto=5, after=2), key=KEY)
    with pytest.raises(CtokenInvalid):
        ctoken_decode(("A" if token[0] != "A" else "B") + token[1:], key=KEY)


def test_successive_pages_have_distinct_tokens():
    tokens = {ctoken_encode(ListingPosition(since=0, upto=9, after=after), key=KEY) for after in range(10)}
    assert len(tokens) == 10
