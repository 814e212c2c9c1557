"""A real Celery worker process, on the configured broker (Redis, or the filesystem
broker of the embedded default), executes clmsite's tasks against the test database."""

import datetime

import pytest
from django_celery_beat.models import PeriodicTask

from clmsite.celery import app
from clmsite.testing import WorkerProcess, wait_for
from connectors.tasks import close_expired_agreements_task
from contracts.choices import AgreementOwnership, AgreementStatus, ContractStatus
from contracts.models import PurchaseAgreement
from contracts.tests.factories import AgreementFactory, ContractFactory

pytestmark = pytest.mark.integration


@pytest.fixture
def celery_worker(transactional_db):
    app.control.purge()
    worker = WorkerProcess().start()
    yield worker
    worker.stop()


def test_worker_closes_the_agreement_of_an_expired_contract(celery_worker):
    yesterday = datetime.date.today() - datetime.timedelta(days=1)
    contract = ContractFactory(
        status=ContractStatus.EXPIRED, effective_date=datetime.date(2025, 1, 1), expiration_date=yesterday
    )
    agreement = AgreementFactory(
        legal_entity=contract.legal_entity,
        vendor=contract.vendor,
        contract=contract,
        ownership=AgreementOwnership.CLM,
        status=AgreementStatus.EFFECTIVE,
        default_expiration_date=yesterday,
    )

    close_expired_agreements_task.delay()

    closed = wait_for(lambda: PurchaseAgreement.objects.get(pk=agreement.pk).status == AgreementStatus.CLOSED)
    assert closed, celery_worker.log_tail()
    assert celery_worker.alive, "the worker died"


def test_the_nightly_close_expired_schedule_is_stored_for_admins_to_edit(db):
    schedule = PeriodicTask.objects.get(task="connectors.tasks.close_expired_agreements_task")

    assert schedule.enabled
    assert schedule.crontab is not None
