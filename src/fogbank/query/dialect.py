"""Athena's SQL (Trino dialect, engine v3): classified, parsed, translated to DuckDB.

This module owns the text side of a query execution:

- :func:`parse_statement` says what kind of statement a QueryString is (Athena's
  ``StatementType`` and ``SubstatementType``) and parses the Trino-flavoured ones with
  sqlglot; Hive-flavoured DDL is classified by its leading keywords and left unparsed.
- :func:`referenced_tables` names the catalog tables a query reads, with positions for
  ``TABLE_NOT_FOUND`` reasons.
- :func:`bind_parameters` fills ``?`` placeholders from ExecutionParameters or
  ``EXECUTE ... USING``.
- :func:`to_duckdb` writes the query as DuckDB SQL over views named
  ``"<database>"."<table>"``, with every Trino-vs-DuckDB difference fixed in one
  transform, :func:`_trino_to_duckdb_node`.

Failures are :class:`~fogbank.query.errors.QueryFailed` with Athena's category and
wording. Sources for the wordings:

- ``StatementType``: botocore's athena service-2.json (``CREATE TABLE AS SELECT`` is
  DML; ``SHOW CREATE TABLE``, ``EXPLAIN``, ``DESCRIBE``, ``SHOW TABLES`` are UTILITY).
- ``Incorrect number of parameters: expected %s but found %s``: Trino's
  ``ParameterExtractor`` (INVALID_PARAMETER_USAGE).
- ``Catalog '%s' does not exist`` (CATALOG_NOT_FOUND, ``line 1:15:``): a Trino/Athena
  reason quoted in localstack/localstack#10911.
- SYNTAX_ERROR ``mismatched input '...'`` and ``token recognition error at:``:
  Trino's ANTLR error listener, as Athena shows it.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify

from fogbank.query.errors import QueryFailed

StatementType = Literal["DDL", "DML", "UTILITY"]

DEFAULT_CATALOG = "awsdatacatalog"

# What Trino's parser lists when the text holds no statement at all.
_EXPECTING_STATEMENT = (
    "'ALTER', 'ANALYZE', 'CALL', 'COMMENT', 'COMMIT', 'CREATE', 'DEALLOCATE', "
    "'DELETE', 'DENY', 'DESC', 'DESCRIBE', 'DROP', 'EXECUTE', 'EXPLAIN', 'GRANT', "
    "'INSERT', 'MERGE', 'PREPARE', 'REFRESH', 'RESET', 'REVOKE', 'ROLLBACK', 'SET', "
    "'SHOW', 'START', 'TRUNCATE', 'UPDATE', 'USE', <query>"
)


@dataclass(frozen=True)
class Statement:
    """One QueryString, classified the way GetQueryExecution reports it."""

    sql: str
    statement_type: StatementType
    substatement: str
    tree: exp.Expression | None
    """The Trino parse: the query itself for SELECT/INSERT/CTAS/CREATE VIEW and
    UPDATE/DELETE/MERGE; the inner query for UNLOAD, PREPARE and EXPLAIN; None for
    Hive-flavoured DDL, SHOW/DESCRIBE, EXECUTE and DEALLOCATE."""
    name: str | None = None
    """The prepared statement's name for PREPARE, EXECUTE and DEALLOCATE PREPARE."""
    parameters: tuple[str, ...] = ()
    """EXECUTE ... USING values as SQL literal text, ready for :func:`bind_parameters`."""


@dataclass(frozen=True)
class TableRef:
    """A catalog table a query reads, where the query names it."""

    database: str
    table: str
    line: int | None
    column: int | None


# --------------------------------------------------------------------------------------
# Lexical helpers: comments, quotes, statement ends


@dataclass(frozen=True)
class _Scan:
    code: str  # the text with comments blanked (same length, newlines kept)
    end: int  # offset of the first ';' outside quotes and comments, or len(text)
    unterminated: int | None  # offset of a quote or comment that never closes


def _scan(text: str) -> _Scan:
    """Blank out comments and find the first statement end, respecting quotes."""
    out = list(text)
    i, n = 0, len(text)
    end: int | None = None
    while i < n:
        ch = text[i]
        if text.startswith("--", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out[i:j] = " " * (j - i)
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            if j < 0:
                return _Scan("".join(out), end if end is not None else n, i)
            for k in range(i, j + 2):
                if out[k] != "\n":
                    out[k] = " "
            i = j + 2
        elif ch in "'\"`":
            j = i + 1
            while True:
                j = text.find(ch, j)
                if j < 0:
                    return _Scan("".join(out), end if end is not None else n, i)
                if text.startswith(ch * 2, j):  # doubled quote escapes itself
                    j += 2
                    continue
                break
            i = j + 1
        elif ch == ";" and end is None:
            end = i
            i += 1
        else:
            i += 1
    return _Scan("".join(out), end if end is not None else n, None)


def _position(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of ``offset``, as Trino counts them."""
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _masked(text: str, start: int) -> str:
    """``text`` with everything before ``start`` blanked, so parse positions of the
    rest still match the original text."""
    head = "".join("\n" if c == "\n" else " " for c in text[:start])
    return head + text[start:]


# --------------------------------------------------------------------------------------
# Classification


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\S")

# (leading words, statement type, substatement, parsed by sqlglot?) — first match wins,
# so longer prefixes come first. "*" matches any one word (a table name).
_CLASSES: list[tuple[tuple[str, ...], StatementType, str, bool]] = [
    (("SELECT",), "DML", "SELECT", True),
    (("WITH",), "DML", "SELECT", True),
    (("VALUES",), "DML", "SELECT", True),
    (("TABLE",), "DML", "SELECT", True),
    (("(",), "DML", "SELECT", True),
    (("INSERT",), "DML", "INSERT", True),
    (("UPDATE",), "DML", "UPDATE", True),
    (("DELETE",), "DML", "DELETE", True),
    (("MERGE",), "DML", "MERGE", True),
    (("UNLOAD",), "DML", "UNLOAD", True),
    (("CREATE", "EXTERNAL", "TABLE"), "DDL", "CREATE_TABLE", False),
    (("CREATE", "OR", "REPLACE", "VIEW"), "DDL", "CREATE_VIEW", True),
    (("CREATE", "VIEW"), "DDL", "CREATE_VIEW", True),
    (("CREATE", "DATABASE"), "DDL", "CREATE_DATABASE", False),
    (("CREATE", "SCHEMA"), "DDL", "CREATE_DATABASE", False),
    (("CREATE", "TABLE"), "DDL", "CREATE_TABLE", False),  # CTAS is told apart below
    (("DROP", "TABLE"), "DDL", "DROP_TABLE", False),
    (("DROP", "VIEW"), "DDL", "DROP_VIEW", False),
    (("DROP", "DATABASE"), "DDL", "DROP_DATABASE", False),
    (("DROP", "SCHEMA"), "DDL", "DROP_DATABASE", False),
    (("ALTER", "DATABASE"), "DDL", "ALTER_DATABASE_SET_DBPROPERTIES", False),
    (("ALTER", "SCHEMA"), "DDL", "ALTER_DATABASE_SET_DBPROPERTIES", False),
    (("MSCK", "REPAIR", "TABLE"), "DDL", "MSCK_REPAIR_TABLE", False),
    (("SHOW", "CREATE", "TABLE"), "UTILITY", "SHOW_CREATE_TABLE", False),
    (("SHOW", "CREATE", "VIEW"), "UTILITY", "SHOW_CREATE_VIEW", False),
    (("SHOW", "TABLES"), "UTILITY", "SHOW_TABLES", False),
    (("SHOW", "DATABASES"), "UTILITY", "SHOW_DATABASES", False),
    (("SHOW", "SCHEMAS"), "UTILITY", "SHOW_DATABASES", False),
    (("SHOW", "PARTITIONS"), "UTILITY", "SHOW_PARTITIONS", False),
    (("SHOW", "COLUMNS"), "UTILITY", "SHOW_COLUMNS", False),
    (("SHOW", "TBLPROPERTIES"), "UTILITY", "SHOW_TBLPROPERTIES", False),
    (("SHOW", "VIEWS"), "UTILITY", "SHOW_VIEWS", False),
    (("DESCRIBE", "VIEW"), "UTILITY", "DESCRIBE_VIEW", False),
    (("DESCRIBE",), "UTILITY", "DESCRIBE_TABLE", False),
    (("DESC",), "UTILITY", "DESCRIBE_TABLE", False),
    (("EXPLAIN",), "UTILITY", "EXPLAIN", True),
    (("PREPARE",), "UTILITY", "PREPARE", True),
    (("EXECUTE",), "UTILITY", "EXECUTE", False),
    (("DEALLOCATE", "PREPARE"), "UTILITY", "DEALLOCATE", False),
]

# ALTER TABLE <name> <what>: the words after the table name say which substatement.
_ALTER_TABLE: list[tuple[tuple[str, ...], str]] = [
    (("ADD", "COLUMNS"), "ALTER_TABLE_ADD_COLUMNS"),
    (("ADD",), "ALTER_TABLE_ADD_PARTITION"),  # ADD [IF NOT EXISTS] PARTITION
    (("DROP",), "ALTER_TABLE_DROP_PARTITION"),  # DROP [IF EXISTS] PARTITION
    (("REPLACE", "COLUMNS"), "ALTER_TABLE_REPLACE_COLUMNS"),
    (("CHANGE",), "ALTER_TABLE_CHANGE_COLUMN"),
    (("RENAME", "TO"), "ALTER_TABLE_RENAME_TABLE"),
    (("SET", "LOCATION"), "ALTER_TABLE_SET_LOCATION"),
    (("SET", "TBLPROPERTIES"), "ALTER_TABLE_SET_TBLPROPERTIES"),
    (("PARTITION",), "ALTER_TABLE_RENAME_PARTITION"),  # refined below
]


def _words(code: str, start: int = 0) -> Iterator[tuple[str, int]]:
    for m in _WORD.finditer(code, start):
        yield m.group().upper(), m.start()


def _table_name_end(code: str, start: int) -> int:
    """Offset just past a possibly qualified, possibly quoted table name at ``start``."""
    m = re.compile(
        r"\s*(?:`[^`]*`|\"(?:[^\"]|\"\")*\"|[\w$]+)(?:\s*\.\s*(?:`[^`]*`|\"(?:[^\"]|\"\")*\"|[\w$]+))*"
    ).match(code, start)
    return m.end() if m else start


def _syntax_error(sql: str, offset: int, message: str) -> QueryFailed:
    line, column = _position(sql, offset)
    return QueryFailed("SYNTAX_ERROR", message, line=line, column=column)


@functools.lru_cache(maxsize=512)
def parse_statement(sql: str) -> Statement:
    """Classify and parse one QueryString as StartQueryExecution receives it.

    Athena runs exactly one statement per execution; a trailing ``;`` is allowed.
    Statement and substatement types are those GetQueryExecution reports. Parses are
    kept by text (a dashboard runs the same queries again and again; sqlglot takes
    milliseconds), so the tree is shared: callers copy it before changing it.
    """
    scan = _scan(sql)
    if scan.unterminated is not None:
        raise _syntax_error(
            sql, scan.unterminated, f"token recognition error at: '{sql[scan.unterminated :]}'"
        )
    if scan.code[scan.end + 1 :].strip().strip(";").strip():
        # Athena answers several statements in one QueryString this way.
        raise QueryFailed("SYNTAX_ERROR", f"Only one sql statement is allowed. Got: {sql}")
    code = scan.code[: scan.end]
    words = list(_words(code))
    if not words:
        raise _syntax_error(
            sql, len(code.rstrip()), f"mismatched input '<EOF>'. Expecting: {_EXPECTING_STATEMENT}"
        )
    upper = [w for w, _ in words]
    match = next((c for c in _CLASSES if tuple(upper[: len(c[0])]) == c[0]), None)
    if match is None:
        if upper[0] == "ALTER" and len(upper) > 1 and upper[1] == "TABLE":
            return Statement(sql, "DDL", _alter_table_substatement(code, words), None)
        first, at = words[0]
        raise _syntax_error(
            sql,
            at,
            f"mismatched input '{sql[at : at + len(first)]}'. Expecting: {_EXPECTING_STATEMENT}",
        )

    _, stype, sub, parsed = match
    # Hive's CREATE TABLE has a column list; Trino's CTAS has AS <query>.
    if sub == "CREATE_TABLE" and re.search(
        r"\bAS\s*(\(\s*)*(SELECT|WITH|VALUES|TABLE)\b", code, re.IGNORECASE
    ):
        return Statement(sql, "DML", "CREATE_TABLE_AS_SELECT", _parse(sql, code, 0))
    if not parsed:
        if sub == "EXECUTE":
            return _execute(sql, code, words)
        if sub == "DEALLOCATE":
            name = words[2][0].lower() if len(words) > 2 else None
            return Statement(sql, stype, sub, None, name=name)
        return Statement(sql, stype, sub, None)
    if sub == "PREPARE":
        # PREPARE <name> FROM <statement>
        if len(upper) < 4 or upper[2] != "FROM":
            at = words[min(2, len(words) - 1)][1]
            raise _syntax_error(sql, at, "mismatched input. Expecting: 'FROM'")
        inner = parse_statement(_masked(sql[: scan.end], words[3][1]))
        return Statement(sql, stype, sub, inner.tree, name=words[1][0].lower())
    if sub == "EXPLAIN":
        start = 1
        # EXPLAIN [ANALYZE] [VERBOSE] [(TYPE ..., FORMAT ...)] <query>
        while start < len(words) and upper[start] in ("ANALYZE", "VERBOSE"):
            start += 1
        offset = words[start][1] if start < len(words) else len(code)
        if (
            offset < len(code)
            and code[offset] == "("
            and not re.match(r"\(\s*(SELECT|WITH|VALUES)\b", code[offset:], re.IGNORECASE)
        ):
            offset = code.index(")", offset) + 1
        return Statement(sql, stype, sub, _parse(sql, code, offset))
    if sub == "UNLOAD":
        # UNLOAD (<query>) TO 's3://...' WITH (...): the tree is the query.
        if len(words) < 2 or words[1][0] != "(":
            at = words[1][1] if len(words) > 1 else len(code)
            raise _syntax_error(sql, at, "mismatched input. Expecting: '('")
        open_at = words[1][1]
        close_at = _matching_paren(code, open_at)
        if close_at is None:
            raise _syntax_error(sql, len(code), "mismatched input '<EOF>'. Expecting: ')'")
        return Statement(sql, stype, sub, _parse(sql, code[:close_at], open_at + 1))
    return Statement(sql, stype, sub, _parse(sql, code, 0))


_VIEW_HEAD = re.compile(
    r"\s*(?:COMMENT\s+'(?:[^']|'')*'\s*)?(?:SECURITY\s+(?:DEFINER|INVOKER)\s*)?AS\b", re.I
)


def view_query_text(sql: str) -> str:
    """The query of ``CREATE [OR REPLACE] VIEW name [COMMENT '...'] [SECURITY ...] AS
    <query>`` as the user wrote it (comments kept), which the view stores."""
    scan = _scan(sql)
    code = scan.code[: scan.end]
    view = next((at for word, at in _words(code) if word == "VIEW"), None)
    if view is None:
        raise _syntax_error(sql, 0, "mismatched input. Expecting: 'VIEW'")
    head = _VIEW_HEAD.match(code, _table_name_end(code, view + len("VIEW")))
    if head is None:
        raise _syntax_error(sql, view, "mismatched input. Expecting: 'AS'")
    return sql[head.end() : scan.end].strip()


_LEADING = re.compile(r"(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/|\()*", re.S)
_CTAS = re.compile(r"\bAS\s*(\(\s*)*(SELECT|WITH|VALUES|TABLE)\b", re.I)
_ICEBERG = re.compile(r"table_type\s*=\s*'iceberg'", re.I)
_CSV_RESULTS = {
    *("SELECT", "WITH", "VALUES", "TABLE", "EXECUTE", "EXPLAIN"),
    *("UPDATE", "DELETE", "MERGE"),
}


def result_name(sql: str, execution_id: str) -> str | None:
    """The result file a statement's execution is named for under its OutputLocation,
    told from its first words (after comments) without parsing it, as Athena names it
    when the query is submitted: ``<id>.csv`` for a query (and UPDATE, DELETE, MERGE),
    ``<id>`` for INSERT, ``tables/<id>`` for a Hive CTAS (``<id>`` for an Iceberg one),
    ``<id>.txt`` for DDL, SHOW and DESCRIBE; None for UNLOAD, whose name was not
    measured. Source: athena-local's README, measured against Athena (2026-09)."""
    start = _LEADING.match(sql)
    words = [w.upper() for w in sql[start.end() if start else 0 :].split(None, 3)[:3]]
    first = words[0] if words else ""
    if first in _CSV_RESULTS:
        return f"{execution_id}.csv"
    if not first or first == "UNLOAD":
        return None
    if first == "INSERT":
        return execution_id
    if first == "CREATE" and "TABLE" in words[1:] and _CTAS.search(sql):
        return execution_id if _ICEBERG.search(sql) else f"tables/{execution_id}"
    return f"{execution_id}.txt"


def _matching_paren(code: str, open_at: int) -> int | None:
    """Offset of the ')' closing the '(' at ``open_at``, skipping quoted text."""
    depth, i = 0, open_at
    while i < len(code):
        ch = code[i]
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i
        elif ch in "'\"`":
            j = code.find(ch, i + 1)
            while j >= 0 and code.startswith(ch * 2, j):
                j = code.find(ch, j + 2)
            if j < 0:
                return None
            i = j
        i += 1
    return None


def _alter_table_substatement(code: str, words: list[tuple[str, int]]) -> str:
    after = _table_name_end(code, words[1][1] + len("TABLE"))
    rest = [w for w, _ in _words(code, after)]
    if rest[:1] == ["PARTITION"]:
        # ALTER TABLE t PARTITION (...) SET LOCATION | RENAME TO PARTITION (...)
        return "ALTER_TABLE_RENAME_PARTITION" if "RENAME" in rest else "ALTER_TABLE_SET_LOCATION"
    for prefix, sub in _ALTER_TABLE:
        if tuple(rest[: len(prefix)]) == prefix:
            return sub
    return "ALTER_TABLE"


def _execute(sql: str, code: str, words: list[tuple[str, int]]) -> Statement:
    """EXECUTE <name> [USING <literal>, ...]."""
    if len(words) < 2:
        raise _syntax_error(sql, len(code), "mismatched input '<EOF>'. Expecting: <identifier>")
    name = words[1][0].lower()
    values: tuple[str, ...] = ()
    if len(words) > 2:
        if words[2][0] != "USING":
            raise _syntax_error(
                sql, words[2][1], f"mismatched input '{words[2][0]}'. Expecting: 'USING'"
            )
        start = words[2][1] + len("USING")
        tree = _parse(sql, code, start, wrap="SELECT ")
        assert isinstance(tree, exp.Select)
        values = tuple(e.sql(dialect="trino") for e in tree.expressions)
    return Statement(sql, "UTILITY", "EXECUTE", None, name=name, parameters=values)


def _parse(sql: str, code: str, start: int, *, wrap: str = "") -> exp.Expression:
    """Parse ``code[start:]`` with sqlglot's Trino dialect; errors carry positions in
    ``sql``. ``wrap`` is put in front of the text in the space ``start`` leaves."""
    text = _masked(code, start)
    if wrap:
        if start < len(wrap):
            raise ValueError("no room to wrap")
        text = text[: start - len(wrap)] + wrap + text[start:]
    try:
        tree = sqlglot.parse_one(text, read="trino")
    except ParseError as error:
        info = error.errors[0] if error.errors else {}
        token = str(info.get("highlight") or "<EOF>")
        line, col = int(info.get("line") or 1), int(info.get("col") or 1)
        column = max(1, col - len(token) + 1)
        description = str(info.get("description") or "syntax error")
        raise QueryFailed(
            "SYNTAX_ERROR", f"mismatched input '{token}'. {description}", line=line, column=column
        ) from None
    except TokenError as error:
        raise QueryFailed(
            "SYNTAX_ERROR", f"token recognition error: {error}", line=1, column=1
        ) from None
    if isinstance(tree, exp.Command):
        # sqlglot's fallback for syntax it does not model: a statement it can't check.
        word = tree.name
        at = text.upper().find(word.upper())
        line, column = _position(sql, max(at, 0))
        raise QueryFailed(
            "NOT_SUPPORTED",
            f"{word} statement is not supported by fogbank yet",
            line=line,
            column=column,
        )
    assert isinstance(tree, exp.Expression)  # sqlglot types parse results as Expr
    return tree


# --------------------------------------------------------------------------------------
# Tables


def _identifier_position(node: exp.Expression) -> tuple[int | None, int | None]:
    meta = node.meta
    if "line" not in meta:
        return None, None
    col = int(meta["col"]) - (int(meta.get("end", 0)) - int(meta.get("start", 0)))
    return int(meta["line"]), col


def _cte_names_in_scope(table: exp.Table) -> set[str]:
    """Names of CTEs visible where ``table`` appears (any enclosing WITH)."""
    names: set[str] = set()
    node: exp.Expr | None = table
    while node is not None:
        with_ = node.args.get("with_")
        if isinstance(with_, exp.With):
            names.update(cte.alias_or_name.lower() for cte in with_.expressions)
        node = node.parent
    return names


def _base_tables(tree: exp.Expression) -> Iterator[exp.Table]:
    """The Table nodes that name catalog tables (not CTEs, UNNEST or subqueries), in
    text order; a write target (INSERT INTO, CREATE TABLE/VIEW) is left out."""
    targets: set[int] = set()
    if isinstance(tree, (exp.Insert, exp.Create)):
        target = tree.this
        if isinstance(target, exp.Schema):
            target = target.this
        targets.add(id(target))
    for node in _walk_in_text_order(tree):
        if not isinstance(node, exp.Table) or id(node) in targets:
            continue
        if not isinstance(node.this, exp.Identifier):
            continue  # UNNEST(...), a table function, a VALUES list
        if not node.args.get("db") and node.name.lower() in _cte_names_in_scope(node):
            continue
        yield node


def referenced_tables(tree: exp.Expression, default_database: str) -> list[TableRef]:
    """Every catalog table the query reads, in the order the text names them.

    Athena folds names to lowercase; an unqualified name is in the execution's
    database (QueryExecutionContext.Database). The only catalog is ``awsdatacatalog``.
    """
    refs: list[TableRef] = []
    seen: set[tuple[str, str]] = set()
    for table in _base_tables(tree):
        line, column = _identifier_position(_first_part(table))
        catalog = table.catalog
        if catalog and catalog.lower() != DEFAULT_CATALOG:
            raise QueryFailed(
                "CATALOG_NOT_FOUND",
                f"Catalog '{catalog.lower()}' does not exist",
                line=line,
                column=column,
            )
        database = (table.db or default_database).lower()
        key = (database, table.name.lower())
        if key not in seen:
            seen.add(key)
            refs.append(TableRef(database, key[1], line, column))
    return refs


def position_of(table: exp.Table) -> tuple[int | None, int | None]:
    """Where the text names ``table`` (its first part), 1-based, as Trino reports it."""
    return _identifier_position(_first_part(table))


def _first_part(table: exp.Table) -> exp.Expression:
    for key in ("catalog", "db", "this"):
        part = table.args.get(key)
        if isinstance(part, exp.Expression):
            return part
    return table


def _walk_in_text_order(node: exp.Expression) -> Iterator[exp.Expression]:
    """Pre-order walk taking children in the order their node type declares them,
    which follows the text (sqlglot's own walk follows parse order: LIMIT before FROM)."""
    yield node
    for key in type(node).arg_types:
        value = node.args.get(key)
        for child in value if isinstance(value, list) else [value]:
            if isinstance(child, exp.Expression):
                yield from _walk_in_text_order(child)


# --------------------------------------------------------------------------------------
# Parameters


def bind_parameters(tree: exp.Expression, values: Sequence[str]) -> exp.Expression:
    """A copy of ``tree`` with its ``?`` placeholders replaced, in text order, by
    ``values`` (ExecutionParameters or EXECUTE ... USING), each a SQL literal as text
    such as ``'abc'``, ``42`` or ``DATE '2024-01-01'``."""
    bound = tree.copy()
    placeholders = [n for n in _walk_in_text_order(bound) if isinstance(n, exp.Placeholder)]
    if len(placeholders) != len(values):
        raise QueryFailed(
            "INVALID_PARAMETER_USAGE",
            f"Incorrect number of parameters: expected {len(placeholders)} but found {len(values)}",
            line=1,
            column=1,
        )
    for placeholder, text in zip(placeholders, values, strict=True):
        try:
            value = sqlglot.parse_one(text, read="trino")
        except (ParseError, TokenError):
            raise QueryFailed(
                "SYNTAX_ERROR", f"Execution parameter {text!r} is not a SQL literal"
            ) from None
        if any(True for _ in value.find_all(exp.Column, exp.Query, exp.Placeholder)):
            raise QueryFailed(
                "EXPRESSION_NOT_CONSTANT", f"Execution parameter {text!r} is not a constant"
            )
        placeholder.replace(value)
    return bound


# --------------------------------------------------------------------------------------
# Translation to DuckDB

Schema = Mapping[str, Mapping[str, Mapping[str, str]]]
"""database -> table -> column -> DuckDB type SQL (see fogbank.query.types)."""

_INTEGER_TYPES = {
    exp.DataType.Type.TINYINT,
    exp.DataType.Type.SMALLINT,
    exp.DataType.Type.INT,
    exp.DataType.Type.BIGINT,
}

# Trino functions with no DuckDB counterpart yet: a clear NOT_SUPPORTED beats a
# Catalog Error about a function the user never wrote.
_UNSUPPORTED_FUNCTIONS = {
    "url_extract_host",
    "url_extract_path",
    "url_extract_protocol",
    "url_extract_port",
    "url_extract_query",
    "url_extract_parameter",
    "url_extract_fragment",
    "word_stem",
    "geometry_from_text",
    "st_point",
    "st_geometryfromtext",
    "make_set_digest",
    "tdigest_agg",
    "qdigest_agg",
    "approx_set",
    "merge",
    "ml_predict",
}

_JODA = re.compile(r"'[^']*'|([A-Za-z])\1*")
_JODA_FORMAT = {
    "yyyy": "%Y",
    "YYYY": "%Y",
    "yy": "%y",
    "MMMM": "%B",
    "MMM": "%b",
    "MM": "%m",
    "M": "%-m",
    "dd": "%d",
    "d": "%-d",
    "DDD": "%j",
    "HH": "%H",
    "H": "%-H",
    "hh": "%I",
    "h": "%-I",
    "mm": "%M",
    "m": "%-M",
    "ss": "%S",
    "s": "%-S",
    "SSS": "%g",
    "SSSSSS": "%f",
    "a": "%p",
    "EEEE": "%A",
    "EEE": "%a",
    "Z": "%z",
    "ZZ": "%z",
    "z": "%Z",
}


def joda_to_strftime(pattern: str, *, parsing: bool = False) -> str:
    """A Joda-Time pattern (parse_datetime, format_datetime) as a DuckDB strftime /
    strptime format. Raises ValueError for letters it does not know."""
    out: list[str] = []
    last = 0
    for m in _JODA.finditer(pattern):
        out.append(pattern[last : m.start()].replace("%", "%%"))
        token = m.group()
        if token.startswith("'"):
            out.append("'" if token == "''" else token[1:-1].replace("%", "%%"))
        elif token in _JODA_FORMAT:
            spec = _JODA_FORMAT[token]
            # strptime reads one or two digits for %d, %m, ...; it has no %-d.
            out.append(spec.replace("%-", "%") if parsing else spec)
        else:
            raise ValueError(token)
        last = m.end()
    out.append(pattern[last:].replace("%", "%%"))
    return "".join(out)


def to_duckdb(
    tree: exp.Expression,
    *,
    default_database: str | None = None,
    schema: Schema | None = None,
    schema_prefix: str = "",
) -> str:
    """The query as DuckDB SQL over views named ``"<database>"."<table>"`` (with
    ``schema_prefix`` before each database name: one execution's own schemas).

    ``default_database`` qualifies unqualified table names (Athena's
    QueryExecutionContext.Database). ``schema`` gives column types so that integer
    division stays integer where the operands are columns (Trino: ``5 / 2 = 2``);
    without it only literals and casts are typed. Unnamed result columns are named
    ``_col0``, ``_col1``, ... as Athena names them.
    """
    out = tree.copy()
    for table in list(_base_tables(out)):
        database = table.db or default_database
        table.set("catalog", None)
        table.set("this", exp.to_identifier(table.name.lower(), quoted=True))
        if database:
            table.set("db", exp.to_identifier(schema_prefix + database.lower(), quoted=True))
    for select in out.find_all(exp.Select):
        _name_columns_like_trino(select)
    out = _type_divisions(out, schema)
    out = out.transform(_trino_to_duckdb_node)
    return out.sql(dialect="duckdb")


def _name_columns_like_trino(select: exp.Select) -> None:
    """Trino names an output column after a column or field it projects, else
    ``_col<position>``; DuckDB would name it after the expression text."""
    for i, projection in enumerate(select.expressions):
        if isinstance(projection, (exp.Alias, exp.Column, exp.Star, exp.Dot)):
            continue
        projection.replace(exp.alias_(projection.copy(), f"_col{i}", quoted=True))


_BINARY_TYPES = (exp.DataType.Type.VARBINARY, exp.DataType.Type.BINARY, exp.DataType.Type.BLOB)


def _type_divisions(tree: exp.Expression, schema: Schema | None) -> exp.Expression:
    """Mark each ``/`` between integer operands, so that it becomes DuckDB's ``//``, and
    each ``length`` of a binary value, which becomes ``octet_length``."""
    if schema:
        with contextlib.suppress(Exception):  # typing is an optimisation; the query still runs
            tree = qualify(
                tree,
                schema={db: dict(tables) for db, tables in schema.items()},
                dialect="duckdb",
                validate_qualify_columns=False,
                quote_identifiers=True,
                expand_stars=False,
                identify=False,
            )
    try:
        annotate_types(tree, schema=dict(schema) if schema else None, dialect="duckdb")
    except Exception:  # untyped division stays '/'
        return tree
    for length in list(tree.find_all(exp.Length)):
        # Trino's length() counts a varbinary's bytes; DuckDB's length() takes text only
        kind = length.this.type
        if kind is not None and kind.this in _BINARY_TYPES:
            length.replace(exp.Anonymous(this="octet_length", expressions=[length.this]))
    for div in list(tree.find_all(exp.Div)):
        left, right = div.left.type, div.right.type
        if (
            left is not None
            and right is not None
            and left.this in _INTEGER_TYPES
            and right.this in _INTEGER_TYPES
        ):
            div.replace(exp.IntDiv(this=div.left, expression=div.right))
    return tree


def _not_supported(node: exp.Expression, what: str) -> QueryFailed:
    line, column = _identifier_position(node)
    return QueryFailed(
        "NOT_SUPPORTED", f"{what} is not supported by fogbank yet", line=line, column=column
    )


def _lambda_is_identity(node: exp.Expression) -> bool:
    return (
        isinstance(node, exp.Lambda)
        and len(node.expressions) == 1
        and isinstance(node.this, (exp.Column, exp.Identifier))
        and node.this.name == node.expressions[0].name
    )


def _fn(name: str, *args: exp.Expression) -> exp.Anonymous:
    return exp.Anonymous(this=name, expressions=list(args))


def _trino_to_duckdb_node(node: exp.Expression) -> exp.Expression:
    """Every place where sqlglot's trino->duckdb output differs from what Trino
    returns, checked against DuckDB (tests/query/test_dialect.py)."""
    if isinstance(node, exp.Anonymous):
        name = node.name.lower()
        args = node.expressions
        if name in _UNSUPPORTED_FUNCTIONS:
            raise _not_supported(node, f"Function '{name}'")
        if name == "to_iso8601" and len(args) == 1:
            # Trino: DATE -> 2024-01-02, TIMESTAMP -> 2024-01-02T03:04:05.123. typeof
            # is constant per type, so DuckDB folds the CASE.
            value = args[0]
            return exp.Case(
                ifs=[
                    exp.If(
                        this=exp.EQ(
                            this=_fn("typeof", value.copy()), expression=exp.Literal.string("DATE")
                        ),
                        true=_fn("strftime", value.copy(), exp.Literal.string("%Y-%m-%d")),
                    ),
                    exp.If(
                        this=exp.EQ(
                            this=_fn("typeof", value.copy()),
                            expression=exp.Literal.string("TIMESTAMP WITH TIME ZONE"),
                        ),
                        true=_fn(
                            "strftime", value.copy(), exp.Literal.string("%Y-%m-%dT%H:%M:%S.%gZ")
                        ),
                    ),
                ],
                default=_fn("strftime", value.copy(), exp.Literal.string("%Y-%m-%dT%H:%M:%S.%g")),
            )
        if name == "format_datetime" and len(args) == 2:
            return _fn("strftime", args[0], _joda_literal(args[1], parsing=False))
        if name == "map_agg" and len(args) == 2:
            return _fn("map", exp.ArrayAgg(this=args[0]), exp.ArrayAgg(this=args[1]))
        if name == "codepoint" and len(args) == 1:
            return _fn("unicode", args[0])
        if name in ("infinity", "nan") and not args:
            return exp.cast(exp.Literal.string("inf" if name == "infinity" else "nan"), "DOUBLE")
        return node
    if isinstance(node, exp.ParseDatetime):
        return exp.StrToTime(
            this=node.this, format=_joda_literal(node.args["format"], parsing=True)
        )
    if isinstance(node, exp.ArraySize):
        # DuckDB's cardinality takes lists and maps; array_length only lists.
        return _fn("cardinality", node.this)
    if isinstance(node, exp.DateDiff):
        # Trino counts whole units elapsed; DuckDB's date_diff counts boundaries
        # crossed, its date_sub whole units.
        unit = node.args.get("unit")
        unit_text = unit.name if isinstance(unit, exp.Expression) else str(unit or "day")
        return _fn("date_sub", exp.Literal.string(unit_text.lower()), node.expression, node.this)
    if isinstance(node, exp.RegexpExtract):
        # Trino: NULL when nothing matches; DuckDB: ''.
        return exp.Case(
            ifs=[
                exp.If(
                    this=exp.RegexpLike(this=node.this.copy(), expression=node.expression.copy()),
                    true=node,
                )
            ]
        )
    if isinstance(node, exp.RegexpReplace):
        replacement = node.args.get("replacement")
        if isinstance(replacement, exp.Literal) and replacement.is_string:
            # Trino writes group references $1; RE2 under DuckDB wants \1.
            text = re.sub(r"\\", r"\\\\", replacement.this)
            text = re.sub(r"\$(\d)", r"\\\1", text)
            node.set("replacement", exp.Literal.string(text))
        return node
    if isinstance(node, exp.JSONExtractScalar):
        # Trino: NULL when the value is an object or array; DuckDB returns its text.
        return exp.Case(
            ifs=[
                exp.If(
                    this=exp.In(
                        this=_fn("json_type", node.this.copy(), node.expression.copy()),
                        expressions=[exp.Literal.string("OBJECT"), exp.Literal.string("ARRAY")],
                    ),
                    true=exp.Null(),
                )
            ],
            default=node,
        )
    if isinstance(node, exp.Typeof):
        return exp.Lower(this=node)
    if isinstance(node, exp.Reduce):
        finish = node.args.get("finish")
        if finish is not None:
            node.set("finish", None)
            if not _lambda_is_identity(finish):
                # list_transform([state], finish)[1] applies the output function.
                wrapped = exp.Bracket(
                    this=exp.Transform(
                        this=exp.Array(expressions=[node.copy()]), expression=finish
                    ),
                    expressions=[exp.Literal.number(1)],
                    offset=1,
                )
                return wrapped
        return node
    return node


def _joda_literal(node: exp.Expression, *, parsing: bool) -> exp.Expression:
    if not (isinstance(node, exp.Literal) and node.is_string):
        raise _not_supported(node, "A non-constant Joda datetime pattern")
    try:
        return exp.Literal.string(joda_to_strftime(node.this, parsing=parsing))
    except ValueError as error:
        raise QueryFailed(
            "INVALID_FUNCTION_ARGUMENT",
            f"Joda pattern letter '{error}' is not supported by fogbank yet",
        ) from None
