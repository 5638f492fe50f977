"""The one migration from empty builds exactly the schema the models describe, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from cis.migrate import current_revision, head_revision, upgrade
from cis.models import Base

HEAD = head_revision()


def _differences(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


def test_migrated_postgresql_matches_the_models(pg_engine: Engine) -> None:
    assert current_revision(pg_engine) == HEAD
    assert _differences(pg_engine) == []


def test_migrated_sqlite_matches_the_models(sqlite_engine: Engine) -> None:
    assert current_revision(sqlite_engine) == HEAD
    assert _differences(sqlite_engine) == []


def test_upgrade_is_idempotent_and_creates_every_table(sqlite_engine: Engine) -> None:
    upgrade(sqlite_engine)
    assert set(Base.metadata.tables) <= set(inspect(sqlite_engine).get_table_names())


def test_the_newest_migration_goes_down_and_up_again_on_sqlite(sqlite_engine: Engine) -> None:
    from alembic import command

    from cis.migrate import alembic_config

    config = alembic_config(sqlite_engine.url.render_as_string(hide_password=False))
    with sqlite_engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "-1")
    assert current_revision(sqlite_engine) != HEAD
    upgrade(sqlite_engine)
    assert current_revision(sqlite_engine) == HEAD
    assert _differences(sqlite_engine) == []
