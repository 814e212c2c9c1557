"""Receiving webhooks cheaply (issue 8): each web process keeps what it needs of a connection
for a few seconds, stores an event in one statement, and nudges the worker at most twice per
interval and connection; a change to the connection still takes effect within seconds, a
repeat is still answered 200, and nothing is lost."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection as db_connection
from django.test import Client
from django.urls import reverse

from connectors import cache, webhooks
from connectors.models import Connection, InboundEvent
from connectors.tests.test_webhooks import (  # noqa: F401 (fixtures)
    OLD_SECRET,
    SECRET,
    Nudges,
    connection,
    contract_event,
    deliver,
    nudges,
    signed_headers,
)
from connectors.webhooks import inbound_events_redrive
from contracts.choices import WorkStatus

pytestmark = pytest.mark.django_db


class Clock:
    """Stands in for the cache's monotonic clock."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fake = Clock()
    monkeypatch.setattr(cache, "monotonic", fake)
    return fake


def post(send, event_id: str, *, secret: str = SECRET):
    body = contract_event(f"NDA-{event_id}")
    return send(body, signed_headers(body, secret=secret, event_id=event_id))


# --- The connection kept per process -----------------------------------------------------------


def test_a_secret_rotated_by_a_save_in_this_process_takes_effect_at_once(deliver, connection, clock):  # noqa: F811
    assert post(deliver, "evt-1").status_code == 202

    connection.webhook_secrets = OLD_SECRET
    connection.save()

    assert post(deliver, "evt-2").status_code == 401
    assert post(deliver, "evt-3", secret=OLD_SECRET).status_code == 202


def test_a_secret_rotated_elsewhere_takes_effect_once_the_kept_copy_expires(deliver, connection, clock):  # noqa: F811
    assert post(deliver, "evt-1").status_code == 202
    # A queryset update sends no signal, as a save in another process reaches no other one.
    Connection.objects.filter(pk=connection.pk).update(webhook_secrets=OLD_SECRET)

    clock.now += cache.CONNECTION_TTL_SECONDS - 0.1
    assert post(deliver, "evt-2").status_code == 202
    clock.now += 0.1
    assert post(deliver, "evt-3").status_code == 401
    assert post(deliver, "evt-4", secret=OLD_SECRET).status_code == 202


def test_a_connection_disabled_elsewhere_is_not_found_once_the_kept_copy_expires(deliver, connection, clock):  # noqa: F811
    assert post(deliver, "evt-1").status_code == 202
    Connection.objects.filter(pk=connection.pk).update(enabled=False)

    clock.now += cache.CONNECTION_TTL_SECONDS
    assert post(deliver, "evt-2").status_code == 404
    Connection.objects.filter(pk=connection.pk).update(enabled=True)
    assert post(deliver, "evt-3").status_code == 202  # an unknown name is not kept


def test_a_connection_disabled_by_a_save_in_this_process_is_not_found_at_once(deliver, connection, clock):  # noqa: F811
    assert post(deliver, "evt-1").status_code == 202

    connection.enabled = False
    connection.save()

    assert post(deliver, "evt-2").status_code == 404


def test_the_kept_connection_is_loaded_once_per_interval(deliver, connection, clock, django_assert_num_queries):  # noqa: F811
    post(deliver, "evt-1")

    with django_assert_num_queries(1):  # the INSERT alone
        assert post(deliver, "evt-2").status_code == 202


# --- Storing -----------------------------------------------------------------------------------


def test_a_repeat_is_answered_200_with_the_stored_event_and_nudges_nothing(deliver, nudges, clock):  # noqa: F811
    first = post(deliver, "evt-1")
    nudges.clear()
    clock.now += 60

    repeat = post(deliver, "evt-1")

    event = InboundEvent.objects.get()
    assert (first.status_code, first.json()) == (202, {"id": event.pk, "status": "accepted"})
    assert (repeat.status_code, repeat.json()) == (200, {"id": event.pk, "status": "duplicate"})
    assert nudges == []


@pytest.mark.django_db(transaction=True)
def test_concurrent_deliveries_each_id_twice_store_every_event_once_and_answer_each(
    connection,  # noqa: F811
    monkeypatch,
):
    monkeypatch.setattr(webhooks, "apply_inbound_event_task", Nudges())
    event_ids = [f"evt-{n}" for n in range(40)]
    url = reverse("api:connection-webhook", args=[connection.name])

    def send(event_id: str):
        client = Client()
        body = contract_event(f"NDA-{event_id}")
        try:
            response = client.post(
                url, data=body, content_type="application/json", headers=signed_headers(body, event_id=event_id)
            )
            return event_id, response.status_code, response.json()["id"]
        finally:
            db_connection.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(send, event_ids + event_ids))

    stored = dict(InboundEvent.objects.values_list("event_id", "pk"))
    assert set(stored) == set(event_ids)
    assert all(stored[event_id] == pk for event_id, _, pk in answers)
    statuses = sorted(status for _, status, _ in answers)
    assert statuses == [200] * len(event_ids) + [202] * len(event_ids)


# --- Nudging -----------------------------------------------------------------------------------


def test_a_nudge_at_once_then_one_at_the_intervals_end_then_none_until_the_next(deliver, nudges, clock):  # noqa: F811
    for n in range(1, 4):
        post(deliver, f"evt-{n}")
        clock.now += 0.1
    clock.now += cache.NUDGE_INTERVAL_SECONDS
    post(deliver, "evt-4")

    first, second, _, fourth = InboundEvent.objects.order_by("id")
    assert nudges == [
        (first.pk, 0),
        (second.pk, pytest.approx(cache.NUDGE_INTERVAL_SECONDS - 0.1)),
        (fourth.pk, 0),
    ]


def test_one_nudge_applies_every_event_stored_in_its_interval(deliver, nudges, clock):  # noqa: F811
    for n in range(1, 6):
        post(deliver, f"evt-{n}")

    nudges.run()

    assert set(InboundEvent.objects.values_list("status", flat=True)) == {WorkStatus.DONE}


def test_events_whose_nudges_were_lost_are_applied_once_the_sweep_nudges_their_connection(
    deliver,  # noqa: F811
    nudges,  # noqa: F811
    clock,
):
    for n in range(1, 4):
        post(deliver, f"evt-{n}")
    nudges.clear()  # lost, say the broker restarted

    assert inbound_events_redrive() == 1
    assert nudges == [(InboundEvent.objects.order_by("id").first().pk, 0)]
    nudges.run()

    assert set(InboundEvent.objects.values_list("status", flat=True)) == {WorkStatus.DONE}
