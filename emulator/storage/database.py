"""The job store's database: one schema for SQLite and PostgreSQL (SQLAlchemy Core), the
engine for a database URL, and Alembic migrations that bring any database to that schema.

URLs: `sqlite:///path` (the embedded default, one file under the data dir; WAL with
synchronous=FULL, each write transaction starts with BEGIN IMMEDIATE) or
`postgresql://user@host:port/db` (psycopg 3; connections are checked before use, so a
restarted server is reconnected to; statements time out after STATEMENT_TIMEOUT).
Migrations live in emulator/storage/migrations (an Alembic script directory; `alembic -x
url=...` works on it too) and run at every open: a data dir written before migrations existed
(a `resources` table, no `alembic_version`) is stamped with the first revision, then upgraded.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import (
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    create_engine,
    event,
    inspect,
    text,
)
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError

MIGRATIONS = Path(__file__).with_name("migrations")
FIRST_REVISION = "0001"  # today's `resources` table, as SQLite data dirs before migrations have it

# Seconds a PostgreSQL statement (or a lock wait) may take before it fails: a request answers
# InternalFailureException rather than hanging (SQLite's busy timeout is the same 30 s).
STATEMENT_TIMEOUT = 30
CONNECT_TIMEOUT = 5  # seconds to reach PostgreSQL; a server that is down fails at once anyway

metadata = MetaData()

resources = Table(
    "resources",
    metadata,
    Column("kind", Text, nullable=False),  # "transcription-job", "vocabulary", ...
    Column("region", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("creation_time", Float, nullable=False),  # epoch seconds
    Column("doc", Text, nullable=False),  # JSON: the resource as the API shows it
    Column("internal", Text, nullable=False),  # JSON: what the emulator keeps beside it
    # Revision 0002: the state machine of the row, shared by every process on the database.
    Column("revision", Integer, nullable=False, server_default="0"),  # +1 on each claim and status move
    Column("lease_owner", Text, nullable=True),  # the claim token of the worker running it
    Column("lease_expires", Float, nullable=True),  # epoch seconds; past it, another worker may claim
    PrimaryKeyConstraint("kind", "region", "name"),
)
Index("resources_by_time", resources.c.kind, resources.c.region, resources.c.creation_time)
Index("resources_by_status", resources.c.kind, resources.c.status)

COLUMNS = tuple(c.name for c in resources.columns)


def is_sqlite(url: str) -> bool:
    """Whether `url` names a SQLite database (False for a URL that does not parse)."""
    try:
        return make_url(url).get_backend_name() == "sqlite"
    except ArgumentError:
        return False


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def safe_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    return make_url(url).render_as_string(hide_password=True)


def create_store_engine(url: str) -> Engine:
    """An engine for `url` (sqlite:/// or postgresql://, the latter through psycopg 3).
    ValueError for another scheme."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        engine = create_engine(parsed, connect_args={"timeout": 30}, pool_size=8, max_overflow=-1)

        @event.listens_for(engine, "connect")
        def _connect(dbapi_connection, _record) -> None:
            # The driver leaves transactions to us (SQLAlchemy's documented pysqlite recipe),
            # so each write transaction is BEGIN IMMEDIATE: writers queue at BEGIN, never
            # deadlock upgrading a read lock.
            dbapi_connection.isolation_level = None
            dbapi_connection.execute("PRAGMA journal_mode=WAL")
            dbapi_connection.execute("PRAGMA synchronous=FULL")

        @event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            if conn.get_execution_options().get("store_read"):
                conn.exec_driver_sql("BEGIN")
            else:
                conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(
            parsed,
            pool_pre_ping=True,  # a restarted server: stale connections are replaced, not used
            pool_size=5,
            max_overflow=20,
            pool_timeout=STATEMENT_TIMEOUT,
            connect_args={
                "connect_timeout": CONNECT_TIMEOUT,
                "options": f"-c statement_timeout={STATEMENT_TIMEOUT * 1000} -c lock_timeout={STATEMENT_TIMEOUT * 1000}",
            },
        )
    raise ValueError(f"unsupported database URL {safe_url(url)}: use sqlite:///PATH or postgresql://USER@HOST:PORT/DB")


def migrate(engine: Engine) -> None:
    """Brings the database to the newest schema with Alembic (a no-op when it is there). A
    `resources` table without Alembic's version table (a data dir from before migrations) is
    stamped FIRST_REVISION first. On PostgreSQL an advisory lock lets one process at a time
    migrate, so API nodes and workers may start together."""
    from alembic import command
    from alembic.config import Config

    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(4175817)"))  # held until this transaction ends
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = conn
        tables = set(inspect(conn).get_table_names())
        if "resources" in tables and "alembic_version" not in tables:
            command.stamp(config, FIRST_REVISION)
        command.upgrade(config, "head")
