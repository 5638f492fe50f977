"""The one migration from empty builds exactly the schema the models describe, on both databases."""

from __future__ import annotations

import warnings

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, Engine, Index, inspect, text

from cis.migrate import current_revision, head_revision, upgrade
from cis.models import Base

HEAD = head_revision()


def _expression_index(item: object, type_: str) -> bool:
    return type_ == "index" and isinstance(item, Index) and any(not isinstance(e, Column) for e in item.expressions)


def _differences(engine: Engine) -> list[object]:
    """What autogenerate would change. SQLite cannot reflect an index on an expression (`lower(name)`): there
    those are left out here and looked for by name (`test_expression_indexes_exist_on_sqlite`)."""
    sqlite = engine.dialect.name == "sqlite"

    def include(item: object, name: str | None, type_: str, reflected: bool, other: object) -> bool:
        return not (sqlite and _expression_index(item, type_))

    with engine.connect() as conn, warnings.catch_warnings():
        if sqlite:
            warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index")
            warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression-based index")
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": include})
        return list(compare_metadata(context, Base.metadata))


def test_expression_indexes_exist_on_sqlite(sqlite_engine: Engine) -> None:
    expected = {
        str(index.name)
        for table in Base.metadata.tables.values()
        for index in table.indexes
        if _expression_index(index, "index")
    }
    with sqlite_engine.connect() as conn:
        found = set(conn.scalars(text("SELECT name FROM sqlite_master WHERE type = 'index'")))
    assert expected
    assert expected <= found


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
