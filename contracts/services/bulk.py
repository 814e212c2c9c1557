"""Inserting many new rows at once: PostgreSQL's COPY where it is there, bulk_create elsewhere.

A batch of a thousand new contracts spent half its time in the ORM's ``bulk_create``
preparing each value of each row in Python (docs/performance.md). COPY takes the rows as
they are, so the values must already be clean, which they are when the services have
checked them; the ids COPY cannot return are drawn from the table's sequence first.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from functools import cache

from django.db import connections, models, router
from django.utils import timezone

# Fields whose attribute value PostgreSQL takes unchanged (Django's own preparation of these
# returns it as it is there). Anything else goes through the field's get_db_prep_save.
_AS_IS = frozenset(
    {
        "AutoField",
        "BigAutoField",
        "BigIntegerField",
        "BooleanField",
        "CharField",
        "DateField",
        "DateTimeField",
        "DecimalField",
        "ForeignKey",
        "IntegerField",
        "PositiveBigIntegerField",
        "PositiveIntegerField",
        "PositiveSmallIntegerField",
        "SlugField",
        "SmallIntegerField",
        "TextField",
        "UUIDField",
    }
)


def rows_insert(model: type[models.Model], instances: Sequence[models.Model]) -> None:
    """Inserts new ``instances`` of ``model`` and sets their primary keys, like bulk_create
    (no signals, no ``save()``), with ``auto_now``/``auto_now_add`` set to one moment."""
    if not instances:
        return
    connection = connections[router.db_for_write(model)]
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create(instances)
        return
    now = timezone.now()
    for name in _timestamps(model):
        for instance in instances:
            setattr(instance, name, now)
    meta, quote = model._meta, connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, meta.pk.column, len(instances)],
        )
        for instance, (pk,) in zip(instances, cursor.fetchall(), strict=True):
            instance.pk = pk
            instance._state.adding = False
            instance._state.db = connection.alias
        columns = ", ".join(quote(field.column) for field in meta.concrete_fields)
        sql = f"COPY {quote(meta.db_table)} ({columns}) FROM STDIN"
        sources = _sources(model)
        started = time.monotonic()
        with connection.wrap_database_errors, cursor.cursor.copy(sql) as copy:
            for instance in instances:
                row = [getattr(instance, name) for name, _ in sources]
                for position, (_, field) in enumerate(sources):
                    if field is not None:
                        row[position] = field.get_db_prep_save(row[position], connection)
                copy.write_row(row)
        if connection.queries_logged:
            # Query-count tests and the debug toolbar see the COPY like any other statement.
            connection.queries_log.append({"sql": sql, "time": f"{time.monotonic() - started:.3f}"})


@cache
def _timestamps(model: type[models.Model]) -> tuple[str, ...]:
    return tuple(
        field.attname
        for field in model._meta.concrete_fields
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
    )


@cache
def _sources(model: type[models.Model]) -> tuple[tuple[str, models.Field | None], ...]:
    """Each column's attribute, with the field when its value needs the field's preparation."""
    return tuple(
        (field.attname, None if field.get_internal_type() in _AS_IS else field) for field in model._meta.concrete_fields
    )
