"""What the OpenAPI schema says about every operation, in one place (drf-spectacular)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

from .serializers import ErrorSerializer

ERROR_MEANINGS = {
    400: "Malformed JSON, a value of the wrong type, or a list without legal_entity / cross_company=true.",
    401: "No credentials, or an invalid or revoked API key.",
    403: "The caller's role or permissions do not allow this, or a named legal entity is not granted.",
    404: "Not found — also for records of legal entities the caller is not granted.",
    409: "Conflicts with what is stored: the key exists (code conflict) or the record is still used (in_use).",
    412: "If-Match names another version (or If-None-Match: * and the record exists); nothing was written.",
    422: "A rule is broken; every problem is listed, each naming its field.",
}


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    """The error responses of an operation; 400, 401 and 403 apply to every one."""
    return {
        code: OpenApiResponse(ErrorSerializer, description=ERROR_MEANINGS[code])
        for code in sorted({400, 401, 403, *codes})
    }


LEGAL_ENTITY = OpenApiParameter(
    "legal_entity",
    OpenApiTypes.STR,
    many=True,
    description="Legal entity codes to list (repeat the parameter or separate by commas). Each must be granted "
    "to the caller, else 403. Required unless cross_company=true.",
)
CROSS_COMPANY = OpenApiParameter(
    "cross_company",
    OpenApiTypes.BOOL,
    description="true: list every legal entity granted to the caller. The explicit cross-company option: without "
    "it (or legal_entity) a list answers 400.",
)
SCOPE = [LEGAL_ENTITY, CROSS_COMPANY]

IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="An ETag from an earlier read (or *): the write happens only if the record is still that version, "
    "else 412 and nothing is written.",
)
IF_NONE_MATCH_PUT = OpenApiParameter(
    "If-None-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="*: create only; 412 if the record exists.",
)
IF_NONE_MATCH_GET = OpenApiParameter(
    "If-None-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="An ETag from an earlier read: 304 Not Modified while the record is still that version.",
)
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="Makes the POST safe to repeat for 24 hours: a repeat with the same key and body gets the first "
    "answer again (Idempotent-Replayed: true) and writes nothing; the same key with another body is a 422.",
)
ETAG = OpenApiParameter(
    "ETag",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    response=[200, 201],
    description='The record\'s version, weak (W/"…"); send it back in If-Match to update safely.',
)


def path(name: str, description: str) -> OpenApiParameter:
    return OpenApiParameter(name, OpenApiTypes.STR, OpenApiParameter.PATH, description=description)


LEGAL_ENTITY_PATH = path("legal_entity", "The legal entity's code, e.g. USMF.")
CONTRACT_ID_PATH = path("contract_id", "The contract id (with the legal entity, the contract's key).")
AGREEMENT_ID_PATH = path("agreement_id", "The purchase agreement id.")
LINE_NUMBER_PATH = path("line_number", "The line number, a decimal such as 1 or 2.5.")
TYPE_NAME_PATH = path("name", "The contract type's name.")
