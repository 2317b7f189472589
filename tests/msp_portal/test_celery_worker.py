"""A real Celery worker, on the Redis broker, runs the periodic compliance job against the database."""

import time

import pytest

from accounts.models import User
from customers.services import msp_enable
from tests.accounts.factories import UserFactory
from tests.celery_worker import running_worker, send, worker_environment


@pytest.mark.django_db(transaction=True)
def test_a_worker_runs_the_compliance_job_sent_through_redis():
    env = worker_environment()
    msp_enable(actor=None)
    UserFactory(username="slipped-in", is_external=True)

    with running_worker(env):
        send(env, "customers.msp_compliance")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and User.objects.get(username="slipped-in").is_active:
            time.sleep(0.25)
        assert not User.objects.get(username="slipped-in").is_active
