import pytest

from connectors.tests.clm_server import clm_server  # noqa: F401
from connectors.tests.fakes import FakeClm, FakeConnector


@pytest.fixture
def fake_clm(monkeypatch):
    """A fresh in-memory CLM behind the "fake" connector."""
    clm = FakeClm()
    monkeypatch.setattr(FakeConnector, "clm", clm)
    return clm
