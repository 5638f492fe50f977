"""Mobiles removed at once from two browsers, on real threads against PostgreSQL and a SQLite file: an account
always keeps a verified mobile."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select

from cis.db import UnitOfWork, make_session_factory
from cis.models import AccountMobile
from cis.preferences import list_mobiles, remove_mobile
from tests import factories
from tests.conftest import emptied_engine, own_postgres_database
from tests.integration.test_consumer_auth_concurrency import _at_once

NOW = factories.NOW
MOBILES = ("+919876548113", "+919812344455", "+919812300000")


@pytest.fixture(scope="module")
def pg_prefs_engine(postgres_url: str) -> Iterator[Engine]:
    with own_postgres_database(postgres_url, "urja_prefs") as engine:
        yield engine


@pytest.fixture(params=["postgres", "sqlite"])
def engine(request: pytest.FixtureRequest) -> Engine:
    return emptied_engine(request, "pg_prefs_engine")


def test_removing_every_verified_mobile_at_once_leaves_one(engine: Engine) -> None:
    factory = make_session_factory(engine)
    with factory() as session:
        account = factories.account(session, mobiles=MOBILES)
        session.commit()
        account_id = account.id
    ids = [m.id for m in list_mobiles(UnitOfWork(factory), account_id)]

    answers = _at_once(len(ids), lambda i: remove_mobile(UnitOfWork(factory), account_id, ids[i], now=NOW))

    assert Counter(answers) == {"ok": 2, "LastVerifiedMobile": 1}
    with factory() as session:
        left = session.scalar(
            select(func.count()).where(AccountMobile.account_id == account_id, AccountMobile.verified)
        )
    assert left == 1
