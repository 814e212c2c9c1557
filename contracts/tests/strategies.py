"""Hypothesis strategies for bad input (issue 9): the values a careless or hostile source sends.

Shared by the property tests of the services' validators and of the webhook intake. The
literal lists hold what has broken real systems: dates beyond the calendar, decimals no
column can hold, text no database stores (NUL, lone surrogates), numbers beyond 64 bits.
"""

from __future__ import annotations

from django.apps import apps
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# Dates at, beyond and outside the calendar's ends, and strings that only look like dates.
ODD_DATES = (
    "0000-01-01",
    "0001-01-01",
    "9999-12-31",
    "10000-01-01",
    "2026-02-30",
    "2026-13-01",
    "-2026-01-01",
    "2026-1-1",
    "2026-01-01T00:00:00Z",
    "0001-01-01T00:00:00+23:59",
    "9999-12-31T23:59:59-23:59",
    "9999-12-31T23:59:59.999999Z",
    "2026-01-01T25:00:00",
    "2026-01-01T00:00:00+99:00",
)
# Decimals with absurd precision, exponent or no value at all.
ODD_DECIMALS = (
    "1e-1000",
    "1E+100000",
    "NaN",
    "sNaN",
    "-NaN",
    "Infinity",
    "-Infinity",
    "9" * 60,
    "0." + "0" * 59 + "1",
    "-" + "9" * 19 + ".99",
    "1_000",
    "0x10",
    " 12.50 ",
    "12,50",
    "1.5e3",
    "-0",
)
ODD_TEXT = (
    "",
    " ",
    "\x00",
    "a\x00b",
    "\ud800",
    "x\udfffy",
    "x" * 10_000,
    "\u00e9" * 300,
    "\U0001f600" * 50,
    "Bogus",
    "null",
    "' OR 1=1 --",
    "\u202etxt.exe",
)
HUGE_INTEGERS = st.sampled_from((2**31, 2**63 - 1, 2**63, -(2**63) - 1, 2**64, 10**40, -(10**40)))

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**6),
    HUGE_INTEGERS,
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(ODD_TEXT + ODD_DATES + ODD_DECIMALS),
)
# Any JSON-like value: scalars, and lists and objects of them.
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=6,
)


# Values most fields take, so that a fair share of the examples is stored, not refused.
plausible_values = st.sampled_from((None, "", "Text", "12.50", 7, "2026-03-01", "2026-03-01T10:00:00Z", True, False))


def odd_fields(names, *, unknown=("bogus_field", "")) -> st.SearchStrategy[dict]:
    """Up to five of ``names`` (or keys no record has), each with a plausible or any value."""
    return st.dictionaries(st.sampled_from((*names, *unknown)), plausible_values | json_values, max_size=5)


def property_settings(max_examples: int) -> settings:
    """Bounded and derandomized, so CI is reproducible; examples share the test's records on
    purpose (each one is rolled back), so the function-scoped fixture check does not apply;
    request bodies and the database make examples big and slow, which is not a defect here."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        print_blob=True,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
            HealthCheck.filter_too_much,
        ],
    )


def row_counts() -> dict[str, int]:
    """How many rows every table of the project holds, to show that a refused write left none."""
    project_models = (model for model in apps.get_models() if model._meta.app_label in ("contracts", "connectors"))
    return {model._meta.label: model._default_manager.count() for model in project_models}
