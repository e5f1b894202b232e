"""Alembic environment: migrations run on a connection the gateway hands over.

`gateway.store.migrate` opens the (async) engine and passes its sync connection in
`config.attributes["connection"]`, so the same code migrates SQLite and PostgreSQL.
"""

from alembic import context

from gateway.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `gateway migrate`, not the alembic command line")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER most things
)
with context.begin_transaction():
    context.run_migrations()
