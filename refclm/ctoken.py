"""Continuation tokens of the pull API: opaque to clmsite, signed so that none can be made up.

A token carries where the listing stands (the last revision listed), where it began
(``since``) and the revision at which it began (``upto``, the watermark), so every page of
one pull lists the same range. Signed with ``django.core.signing.Signer`` under an explicit
key, so this module needs no settings and is tested on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core import signing

SALT = "refclm.pull-ctoken"


class CtokenInvalid(ValueError):
    """A token this CLM did not give out, or one that was changed."""


@dataclass(frozen=True)
class ListingPosition:
    since: int  # revisions above this are listed
    upto: int  # ...up to and including this one: the revision when the listing began
    after: int  # the last revision already listed


def ctoken_encode(position: ListingPosition, *, key: str) -> str:
    signer = signing.Signer(key=key, salt=SALT, fallback_keys=[])
    return signer.sign_object({"s": position.since, "u": position.upto, "a": position.after})


def ctoken_decode(token: str, *, key: str) -> ListingPosition:
    signer = signing.Signer(key=key, salt=SALT, fallback_keys=[])
    try:
        state = signer.unsign_object(token)
    except (signing.BadSignature, ValueError, TypeError, UnicodeDecodeError) as error:
        raise CtokenInvalid("is not a continuation token this CLM gave out.") from error
    values = [state.get(name) for name in ("s", "u", "a")] if isinstance(state, dict) else []
    if len(values) != 3 or not all(isinstance(value, int) and value >= 0 for value in values):
        raise CtokenInvalid("is not a continuation token this CLM gave out.")
    since, upto, after = values
    if not since <= after <= upto:
        raise CtokenInvalid("names a position outside its own listing.")
    return ListingPosition(since=since, upto=upto, after=after)
