"""Alembic environment of the job store. The store passes its open connection in
`config.attributes["connection"]`; from the command line give the database with
`alembic -c emulator/storage/migrations/alembic.ini -x url=postgresql://... upgrade head`."""

from alembic import context
from sqlalchemy import create_engine

from emulator.storage.database import metadata

target_metadata = metadata


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    url = context.get_x_argument(as_dictionary=True).get("url") or context.config.get_main_option("sqlalchemy.url")
    with create_engine(url).connect() as conn:
        _run(conn)
        conn.commit()
