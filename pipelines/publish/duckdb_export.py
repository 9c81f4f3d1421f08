"""One DuckDB database with every table, its keys, bilingual comments and convenience views.

Tables, column types, NOT NULL, allowed values, primary and foreign keys all
come from the Pandera models and the TABLES registry.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from pipelines.publish.delta import ReleaseDelta
from schemas.fields import TableSpec
from schemas.tables import TABLES

_SQL_TYPES = {
    "String": "VARCHAR",
    "Int64": "BIGINT",
    "Int32": "INTEGER",
    "Float64": "DOUBLE",
    "Boolean": "BOOLEAN",
    "Date": "DATE",
}

# Researchers ask these first: who leads a task, and how much each unit carries.
VIEWS: dict[str, str] = {
    "task_leads": """
        SELECT t.task_id, t.notice_id, n.title AS notice_title, t.label, t.text,
               string_agg(DISTINCT coalesce(u.name, a.unit_raw), '、' ORDER BY coalesce(u.name, a.unit_raw))
                   FILTER (WHERE a.role IN ('lead', 'lead_each')) AS lead_units,
               string_agg(DISTINCT coalesce(u.name, a.unit_raw), '、' ORDER BY coalesce(u.name, a.unit_raw))
                   FILTER (WHERE a.role = 'responsible') AS responsible_units,
               count(DISTINCT a.unit_raw) FILTER (WHERE a.role IN ('lead', 'lead_each')) AS n_leads
        FROM tasks t
        JOIN notices n USING (notice_id)
        LEFT JOIN assignments a USING (task_id)
        LEFT JOIN units u USING (unit_id)
        GROUP BY ALL
        ORDER BY t.task_id
    """,
    "unit_workload": """
        SELECT u.unit_id, u.name, u.region, u.level, u.kind,
               count(DISTINCT a.task_id) AS n_tasks,
               count(DISTINCT a.task_id) FILTER (WHERE a.role IN ('lead', 'lead_each')) AS n_lead,
               count(DISTINCT a.task_id) FILTER (WHERE a.role = 'responsible') AS n_responsible,
               count(DISTINCT a.task_id) FILTER (WHERE a.role = 'support') AS n_support,
               count(DISTINCT t.notice_id) AS n_notices
        FROM units u
        JOIN assignments a USING (unit_id)
        JOIN tasks t USING (task_id)
        GROUP BY ALL
        ORDER BY n_tasks DESC, u.unit_id
    """,
}
VIEW_COMMENTS = {
    "task_leads": "每个任务一行,附牵头和责任单位 / One row per task with its lead and responsible units",
    "unit_workload": "每个单位承担的任务数(按角色) / Tasks per unit, by role",
}


def _quote(value: Any) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _column_sql(name: str, column: Any) -> str:
    parts = [f'"{name}"', _SQL_TYPES[str(column.dtype)]]
    if not column.nullable:
        parts.append("NOT NULL")
    for check in column.checks:
        stats = check.statistics or {}
        if "allowed_values" in stats:
            allowed = ", ".join(_quote(v) for v in stats["allowed_values"])
            parts.append(f'CHECK ("{name}" IN ({allowed}))')
    return " ".join(parts)


def create_table_sql(spec: TableSpec) -> str:
    """CREATE TABLE with types, NOT NULL, allowed values, primary and foreign keys from the model."""
    lines = [_column_sql(name, col) for name, col in spec.schema.columns.items()]
    lines.append("PRIMARY KEY (" + ", ".join(f'"{c}"' for c in spec.primary_key) + ")")
    for fk in spec.foreign_keys:
        cols = ", ".join(f'"{c}"' for c in fk.fields)
        refs = ", ".join(f'"{c}"' for c in fk.ref_fields)
        lines.append(f'FOREIGN KEY ({cols}) REFERENCES "{fk.ref_table}" ({refs})')
    return f'CREATE TABLE "{spec.name}" (\n  ' + ",\n  ".join(lines) + "\n)"


def load_order() -> list[str]:
    """Tables ordered so every referenced table is created (and filled) before its referrers."""
    done: list[str] = []
    pending = list(TABLES)
    while pending:
        for name in pending:
            refs = {fk.ref_table for fk in TABLES[name].foreign_keys} - {name}
            if refs <= set(done):
                done.append(name)
                pending.remove(name)
                break
        else:
            raise ValueError(f"foreign keys form a cycle among {pending}")
    return done


def _self_fks(spec: TableSpec) -> list[Any]:
    """The single-column foreign keys of a table into itself (a section's parent)."""
    return [fk for fk in spec.foreign_keys if fk.ref_table == spec.name and len(fk.fields) == 1]


def insert_batches(spec: TableSpec, df: pl.DataFrame, present: pl.DataFrame | None = None) -> list[pl.DataFrame]:
    """Split a table so that rows referring to the same table come after the rows they refer to.

    DuckDB checks a foreign key per statement, so a section inserted together
    with its parent is rejected; parents go first, one generation per batch.
    ``present``: rows already in the database, which rows of ``df`` may refer to.
    """
    self_fks = _self_fks(spec)
    if not self_fks:
        return [df]
    batches: list[pl.DataFrame] = []
    known: dict[str, set[Any]] = {
        fk.ref_fields[0]: set(present.get_column(fk.ref_fields[0]).to_list()) if present is not None else set()
        for fk in self_fks
    }
    remaining = df
    while remaining.height:
        ready = pl.lit(True)
        for fk in self_fks:
            col, ref = fk.fields[0], fk.ref_fields[0]
            ready = ready & (pl.col(col).is_null() | pl.col(col).is_in(list(known[ref])))
        mask = remaining.select(ready.alias("ready")).get_column("ready")
        batch = remaining.filter(mask)
        if not batch.height:
            raise ValueError(f"{spec.name}: rows refer to rows that do not exist (a cycle or a dangling key)")
        batches.append(batch)
        for ref in known:
            known[ref].update(batch.get_column(ref).to_list())
        remaining = remaining.filter(~mask)
    return batches


def _comments(con: duckdb.DuckDBPyConnection, spec: TableSpec) -> None:
    con.execute(
        f'COMMENT ON TABLE "{spec.name}" IS {_quote(f"{spec.title_zh} / {spec.title_en}: {spec.description_en}")}'
    )
    for name, col in spec.schema.columns.items():
        meta = col.metadata or {}
        text = f"{meta.get('title_zh', '')} / {meta.get('title_en', name)}: {meta.get('description_en', '')}"
        con.execute(f'COMMENT ON COLUMN "{spec.name}"."{name}" IS {_quote(text)}')


def _create_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Every table with its keys and comments, then the views (empty tables)."""
    for name in load_order():
        con.execute(create_table_sql(TABLES[name]))
        _comments(con, TABLES[name])
    for view, sql in VIEWS.items():
        con.execute(f'CREATE VIEW "{view}" AS {sql}')
        con.execute(f'COMMENT ON VIEW "{view}" IS {_quote(VIEW_COMMENTS[view])}')


BATCH = "_batch"  # the name a batch of rows goes by in SQL


@contextlib.contextmanager
def _registered(con: duckdb.DuckDBPyConnection, df: pl.DataFrame) -> Iterator[str]:
    """``df`` visible to SQL as :data:`BATCH` while the block runs.

    Registered by name, not found by DuckDB's replacement scan: that scan looks
    the name up in the calling Python frames under the GIL, and beside the GX
    suites (which hold it) every statement waited for it. The DuckDB patch of an
    add took 0.9 s of which 0.3 s computing; registered, 0.45 s.
    """
    con.register(BATCH, df.to_arrow())
    try:
        yield BATCH
    finally:
        con.unregister(BATCH)


def _insert(con: duckdb.DuckDBPyConnection, name: str, df: pl.DataFrame, present: pl.DataFrame | None = None) -> None:
    spec = TABLES[name]
    for batch in insert_batches(spec, df.select(spec.columns), present):
        with _registered(con, batch) as rows:
            con.execute(f'INSERT INTO "{name}" SELECT * FROM {rows}')


def _connect(path: Path) -> duckdb.DuckDBPyConnection:
    """A connection for writing a release's file: one thread, no fsync.

    One thread: row order and file layout do not depend on scheduling. No
    fsync: the file is a release's, being written beside the others, which
    are not synced either (a release is published by a rename, and its
    SHA256SUMS tells a damaged file). ext4 makes an fsync wait for the other
    files' pending writes too: the patch's CHECKPOINT waited 0.2 s for the
    CSVs written beside it. A DuckDB without the setting syncs, as before.
    """
    con = duckdb.connect(str(path))
    con.execute("SET threads TO 1")
    with contextlib.suppress(duckdb.Error):
        con.execute("SET fsync_mode = 'none'")
    return con


def write_duckdb(frames: dict[str, pl.DataFrame], path: Path) -> None:
    """Write all tables, keys, comments and views into a new DuckDB file at ``path``."""
    path.unlink(missing_ok=True)
    con = _connect(path)
    try:
        _create_schema(con)  # views only read, so they may exist before the rows
        for name in load_order():
            _insert(con, name, frames[name])
        con.execute("CHECKPOINT")
    finally:
        con.close()


_CATALOG = [
    "SELECT table_name, sql, comment FROM duckdb_tables() ORDER BY table_name",
    "SELECT table_name, column_name, data_type, is_nullable, comment FROM duckdb_columns() ORDER BY ALL",
    "SELECT constraint_text FROM duckdb_constraints() ORDER BY ALL",
    "SELECT view_name, sql, comment FROM duckdb_views() WHERE NOT internal ORDER BY view_name",
]


def catalog(con: duckdb.DuckDBPyConnection) -> list[list[tuple[Any, ...]]]:
    """Tables, columns, constraints, views and comments: what must match before rows are patched."""
    return [con.execute(sql).fetchall() for sql in _CATALOG]


@functools.cache
def expected_catalog() -> list[list[tuple[Any, ...]]]:
    """The catalog the models declare now (an empty in-memory database; built once per process).

    The models are the process's own: a patch compared the copy with a freshly
    built empty database every time, a third of the patch's Python time.
    """
    con = duckdb.connect()
    try:
        _create_schema(con)
        return catalog(con)
    finally:
        con.close()


def _referring(name: str, df: pl.DataFrame, replaced: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Keys of the rows of ``df`` whose foreign keys point at a replaced row."""
    key = list(TABLES[name].primary_key)
    hits = [df.head(0).select(key)]
    for fk in TABLES[name].foreign_keys:
        parents = replaced.get(fk.ref_table)
        if parents is not None and parents.height:
            targets = parents.select(pl.col(r).alias(f) for f, r in zip(fk.fields, fk.ref_fields, strict=True))
            hits.append(df.join(targets, on=list(fk.fields), how="semi").select(key))
    return pl.concat(hits).unique(maintain_order=True)


def _delete_batches(name: str, drop: pl.DataFrame, old: pl.DataFrame) -> list[pl.DataFrame]:
    """The keys to delete from a table, children before their parents where the table refers to itself.

    DuckDB refuses to delete a row that another row still refers to, even one
    deleted by the same statement: a changed heading goes after its subheadings.
    """
    spec = TABLES[name]
    if not _self_fks(spec):
        return [drop]
    key = list(spec.primary_key)
    rows = old.join(drop, on=key, how="semi", nulls_equal=True).select(spec.columns)
    kept = old.join(drop, on=key, how="anti", nulls_equal=True)
    return [batch.select(key) for batch in reversed(insert_batches(spec, rows, kept))]


def patch_duckdb(path: Path, delta: ReleaseDelta, frames: dict[str, pl.DataFrame]) -> bool:
    """Bring a copy of the previous release's DuckDB file at ``path`` up to ``frames``.

    Only the delta is written. DuckDB enforces the foreign keys and cannot
    update a row that another row refers to, so a changed row is *replaced*:
    deleted and inserted again, together with the rows that refer to it (a
    unit that gained an alias takes its assignments along). Deletes run
    children first, inserts parents first. Returns False, leaving the file to
    be written anew, when the copy's catalog is not the one the models
    declare now. The copy holds the rows of ``delta.old`` (its hash was checked).
    """
    con = _connect(path)
    try:
        if catalog(con) != expected_catalog():
            return False
        order = load_order()
        present = {name: delta.old[name].select(TABLES[name].primary_key) for name in order}
        replaced: dict[str, pl.DataFrame] = {}  # keys deleted and inserted again
        for name in order:
            key = list(TABLES[name].primary_key)
            changed = delta.tables[name].new_rows.select(key)
            # Present keys among the few changed ones (the join hashes the small side).
            replaced[name] = present[name].join(changed, on=key, how="semi", nulls_equal=True)
            while True:  # a self-reference (a section's parent) may pull in more rows
                grown = pl.concat([changed, _referring(name, frames[name], replaced)]).unique()
                grown = present[name].join(grown, on=key, how="semi", nulls_equal=True)
                if grown.height == replaced[name].height:
                    break
                replaced[name] = grown
        for name in reversed(order):
            key = list(TABLES[name].primary_key)
            drop = pl.concat([delta.tables[name].gone_keys.select(key), replaced[name]])
            match = " AND ".join(f'"{name}"."{c}" = {BATCH}."{c}"' for c in key)
            for batch in _delete_batches(name, drop, delta.old[name]) if drop.height else []:
                with _registered(con, batch) as keys:
                    con.execute(f'DELETE FROM "{name}" USING {keys} WHERE {match}')
        for name in order:
            key = list(TABLES[name].primary_key)
            # The rows to insert: those with a new key (all among the new rows) and those
            # replaced. Matching the table against these few keys, not against every kept
            # one, keeps the join's hash table small.
            wanted = pl.concat([delta.tables[name].new_rows.select(key), replaced[name]]).unique()
            rows = frames[name].join(wanted, on=key, how="semi", nulls_equal=True)
            if rows.height:
                # The rows that stay, which new rows may refer to: only a table referring
                # to itself needs them (an anti join over every key of the table).
                kept = (
                    present[name].join(pl.concat([delta.tables[name].gone_keys, replaced[name]]), on=key, how="anti")
                    if _self_fks(TABLES[name])
                    else None
                )
                _insert(con, name, rows, kept)
        con.execute("CHECKPOINT")
        return True
    finally:
        con.close()
