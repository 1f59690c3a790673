"""EXPLAIN plans and table sizes as text: the evidence a run keeps beside the timings
(a technique's artifacts_path), for the database's work that the timings only imply."""

from typing import Any

from sqlalchemy import Select, Table, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

ANALYZE_BUFFERS = "ANALYZE, BUFFERS"  # what ran, and the pages it read


async def explain(
    connection: AsyncConnection, sql: str, parameters: Any = None, options: str = ANALYZE_BUFFERS
) -> str:
    """EXPLAIN (`options`) of a statement as the driver is sent it, as plain text."""
    result = await connection.exec_driver_sql(f"EXPLAIN ({options}) {sql}", parameters)
    return "\n".join(str(line) for (line,) in result)


async def explain_query(session: AsyncSession, query: Select[Any]) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of `query` with its values inlined, as plain text."""
    connection = await session.connection()
    sql = query.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True})
    return await explain(connection, str(sql))


async def relation_sizes(session: AsyncSession, table: Table) -> str:
    """The table's size on disk and each of its indexes', one per line."""
    names = [table.name, *sorted(str(index.name) for index in table.indexes)]
    sizes = await session.execute(
        text(
            "SELECT c.relname, pg_size_pretty(pg_relation_size(c.oid)), c.relkind::text"
            " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = :schema AND c.relname = ANY(:names) ORDER BY c.relkind DESC"
        ),
        {"schema": table.schema, "names": names},
    )
    return "\n".join(
        f"{name}: {size} ({'index' if kind == 'i' else 'table'})" for name, size, kind in sizes
    )
