"""The one migration from empty builds exactly the schema the models describe, on both databases."""

from __future__ import annotations

import warnings

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, Engine, Index, inspect, text

from cis.migrate import current_revision, head_revision, upgrade
from cis.models import Base

HEAD = head_revision()


def _expression_index(item: object) -> bool:
    return isinstance(item, Index) and any(not isinstance(e, Column) for e in item.expressions)


# Indexes on an expression or a collation (`lower(name) COLLATE "C"`): autogenerate cannot compare them (SQLite
# does not reflect them; PostgreSQL's reflection drops the collation), so they are looked for by name and
# definition instead (test_expression_indexes_exist).
EXPRESSION_INDEXES = {
    str(index.name) for table in Base.metadata.tables.values() for index in table.indexes if _expression_index(index)
}


def _differences(engine: Engine) -> list[object]:
    """What autogenerate would change, but for EXPRESSION_INDEXES."""

    def include(item: object, name: str | None, type_: str, reflected: bool, other: object) -> bool:
        return not (type_ == "index" and name in EXPRESSION_INDEXES)

    with engine.connect() as conn, warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index")
        warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression-based index")
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": include})
        return list(compare_metadata(context, Base.metadata))


def test_expression_indexes_exist(pg_engine: Engine, sqlite_engine: Engine) -> None:
    assert {"ix_consumer_name_prefix", "ix_consumer_name_hi_prefix"} == EXPRESSION_INDEXES
    with sqlite_engine.connect() as conn:
        found = set(conn.scalars(text("SELECT name FROM sqlite_master WHERE type = 'index'")))
    assert found >= EXPRESSION_INDEXES
    with pg_engine.connect() as conn:
        rows = conn.execute(text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'consumer'"))
        defined = {name: definition for name, definition in rows}
    assert 'lower((name)::text) COLLATE "C"' in defined["ix_consumer_name_prefix"]
    assert 'name_hi COLLATE "C"' in defined["ix_consumer_name_hi_prefix"]


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
