"""Parsing of Athena's Hive DDL: statement text in, one typed statement out.

Athena runs DDL (``CREATE EXTERNAL TABLE``, ``MSCK REPAIR TABLE``, ``ALTER TABLE ... ADD
PARTITION``, ``SHOW ...``, ``DESCRIBE ...``) through Hive's parser rather than Trino's.
This module owns that grammar: ``CREATE EXTERNAL TABLE`` goes through sqlglot's Hive
parser (which knows row formats, SerDes and nested types); every other statement is read
by a small keyword walker over sqlglot's Hive tokens. Names fold to lowercase, as the
Hive metastore folds them. :mod:`fogbank.query.ddl` runs what this module returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import sqlglot
from sqlglot import exp
from sqlglot.dialects.hive import Hive
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokenizer_core import Token, TokenType

from fogbank.query.errors import SYSTEM, QueryFailed

# ---------------------------------------------------------------------- statements


@dataclass(frozen=True)
class TableName:
    database: str | None
    name: str
    written: str
    """The name as the statement spelled it (folded), which Hive repeats in its output."""


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    type: str
    comment: str | None = None


@dataclass(frozen=True)
class CreateTable:
    table: TableName
    if_not_exists: bool
    external: bool
    columns: tuple[ColumnSpec, ...]
    partition_keys: tuple[ColumnSpec, ...]
    comment: str | None
    location: str | None
    delimited: dict[str, str] | None
    """ROW FORMAT DELIMITED's clauses as LazySimpleSerDe parameters (``field.delim``...)."""
    serde: str | None
    serde_properties: dict[str, str]
    stored_as: str | None
    input_format: str | None
    output_format: str | None
    properties: dict[str, str]


@dataclass(frozen=True)
class CreateDatabase:
    name: str
    if_not_exists: bool
    comment: str | None
    location: str | None
    properties: dict[str, str]


@dataclass(frozen=True)
class DropDatabase:
    name: str
    if_exists: bool
    cascade: bool


@dataclass(frozen=True)
class DropTable:
    table: TableName
    if_exists: bool


@dataclass(frozen=True)
class DropView:
    table: TableName
    if_exists: bool


@dataclass(frozen=True)
class ShowViews:
    database: str
    pattern: str | None


@dataclass(frozen=True)
class ShowCreateView:
    table: TableName


@dataclass(frozen=True)
class MsckRepair:
    table: TableName


@dataclass(frozen=True)
class PartitionSpec:
    values: tuple[tuple[str, str], ...]
    """(key, value) pairs in the order written; keys folded to lowercase."""
    location: str | None = None


@dataclass(frozen=True)
class AddPartitions:
    table: TableName
    if_not_exists: bool
    partitions: tuple[PartitionSpec, ...]


@dataclass(frozen=True)
class DropPartitions:
    table: TableName
    if_exists: bool
    partitions: tuple[PartitionSpec, ...]


@dataclass(frozen=True)
class ShowTables:
    database: str
    pattern: str | None


@dataclass(frozen=True)
class ShowDatabases:
    pattern: str | None


@dataclass(frozen=True)
class ShowPartitions:
    table: TableName


@dataclass(frozen=True)
class ShowCreateTable:
    table: TableName


@dataclass(frozen=True)
class ShowColumns:
    table: TableName


@dataclass(frozen=True)
class ShowTblProperties:
    table: TableName
    key: str | None


@dataclass(frozen=True)
class Describe:
    table: TableName
    mode: str = ""
    """"" for plain DESCRIBE, or "extended" / "formatted"."""


Statement = (
    CreateTable
    | CreateDatabase
    | DropDatabase
    | DropTable
    | DropView
    | MsckRepair
    | AddPartitions
    | DropPartitions
    | ShowTables
    | ShowDatabases
    | ShowPartitions
    | ShowCreateTable
    | ShowViews
    | ShowCreateView
    | ShowColumns
    | ShowTblProperties
    | Describe
)

# STORED AS <name>: Hive's storage handler for each format, as Athena records it in Glue.
_LAZY_SIMPLE = "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"
_TEXT_IN = "org.apache.hadoop.mapred.TextInputFormat"
_TEXT_OUT = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
STORAGE_FORMATS: dict[str, tuple[str, str, str]] = {
    "TEXTFILE": (_TEXT_IN, _TEXT_OUT, _LAZY_SIMPLE),
    "PARQUET": (
        "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
        "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
        "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
    ),
    "ORC": (
        "org.apache.hadoop.hive.ql.io.orc.OrcInputFormat",
        "org.apache.hadoop.hive.ql.io.orc.OrcOutputFormat",
        "org.apache.hadoop.hive.ql.io.orc.OrcSerde",
    ),
    "AVRO": (
        "org.apache.hadoop.hive.ql.io.avro.AvroContainerInputFormat",
        "org.apache.hadoop.hive.ql.io.avro.AvroContainerOutputFormat",
        "org.apache.hadoop.hive.serde2.avro.AvroSerDe",
    ),
    "JSON": (_TEXT_IN, _TEXT_OUT, "org.apache.hive.hcatalog.data.JsonSerDe"),
    "SEQUENCEFILE": (
        "org.apache.hadoop.mapred.SequenceFileInputFormat",
        "org.apache.hadoop.hive.ql.io.HiveSequenceFileOutputFormat",
        _LAZY_SIMPLE,
    ),
    "RCFILE": (
        "org.apache.hadoop.hive.ql.io.RCFileInputFormat",
        "org.apache.hadoop.hive.ql.io.RCFileOutputFormat",
        "org.apache.hadoop.hive.serde2.columnar.LazyBinaryColumnarSerDe",
    ),
    "ION": (
        "com.amazon.ionhiveserde.formats.IonInputFormat",
        "com.amazon.ionhiveserde.formats.IonOutputFormat",
        "com.amazon.ionhiveserde.IonHiveSerDe",
    ),
}
DEFAULTS = STORAGE_FORMATS["TEXTFILE"]
# ROW FORMAT DELIMITED clauses and the LazySimpleSerDe parameters they set.
_DELIMITED = {
    "fields": "field.delim",
    "escaped": "escape.delim",
    "collection_items": "colelction.delim",  # sic: Hive's constant is misspelt
    "map_keys": "mapkey.delim",
    "lines": "line.delim",
    "null": "serialization.null.format",
}
_HIVE_TYPES = {
    exp.DataType.Type.TEXT: "string",
    exp.DataType.Type.INT: "int",
    exp.DataType.Type.BIGINT: "bigint",
    exp.DataType.Type.SMALLINT: "smallint",
    exp.DataType.Type.TINYINT: "tinyint",
    exp.DataType.Type.FLOAT: "float",
    exp.DataType.Type.DOUBLE: "double",
    exp.DataType.Type.BOOLEAN: "boolean",
    exp.DataType.Type.DATE: "date",
    exp.DataType.Type.TIMESTAMP: "timestamp",
    exp.DataType.Type.BINARY: "binary",
    exp.DataType.Type.DECIMAL: "decimal",
    exp.DataType.Type.VARCHAR: "varchar",
    exp.DataType.Type.CHAR: "char",
}


class _Tokenizer(Hive.Tokenizer):
    # Hive's tokenizer swallows the rest of SHOW / MSCK statements as one "command"
    # string; the keyword walker needs their words.
    COMMANDS: ClassVar[set[TokenType]] = set()
    KEYWORDS: ClassVar[dict[str, TokenType]] = {
        k: v for k, v in Hive.Tokenizer.KEYWORDS.items() if v != TokenType.COMMAND
    }


def parse_statement(sql: str, *, database: str) -> Statement:
    """One DDL statement, or QueryFailed: NOT_SUPPORTED for a statement Athena's DDL
    engine does not run here, FAILED (ParseException) for text it cannot read."""
    tokens = _tokenize(sql)
    while tokens and tokens[-1].token_type == TokenType.SEMICOLON:
        tokens.pop()
    if not tokens:
        raise QueryFailed("SYNTAX_ERROR", "Query text is empty", line=1, column=1)
    words = [t.text.upper() for t in tokens[:3]]
    if words[0] == "CREATE" and ("TABLE" in words[1:3] or words[1:3] == ["EXTERNAL", "TABLE"]):
        return _parse_create_table(sql, database)
    return _Walker(tokens, sql, database).statement()


def _tokenize(sql: str) -> list[Token]:
    try:
        return list(_Tokenizer(dialect=Hive()).tokenize(sql))
    except TokenError as exc:
        raise _parse_error(f"line 1:0 {exc}") from None


def _parse_error(message: str) -> QueryFailed:
    # Hive's parser errors: ErrorCategory 1 (system), as Athena reports them.
    return QueryFailed("FAILED", f"ParseException {message}", error_category=SYSTEM)


# ---------------------------------------------------------------------- CREATE TABLE


def _parse_create_table(sql: str, database: str) -> CreateTable:
    try:
        create = sqlglot.parse_one(sql, dialect="hive")
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        raise _parse_error(
            f"line {first.get('line', 1)}:{first.get('col', 0)} "
            f"{first.get('description', 'cannot recognize input')} in create table statement"
        ) from None
    if not isinstance(create, exp.Create) or create.args.get("expression") is not None:
        raise QueryFailed(
            "NOT_SUPPORTED",
            "CREATE TABLE AS SELECT is not run by the DDL engine; only CREATE EXTERNAL TABLE is",
        )
    schema = create.this
    table_expr = schema.this if isinstance(schema, exp.Schema) else schema
    table = _table_from_expr(table_expr, database)
    columns = (
        tuple(_column(c) for c in schema.expressions) if isinstance(schema, exp.Schema) else ()
    )
    out: dict[str, object] = {
        "external": False,
        "partition_keys": (),
        "comment": None,
        "location": None,
        "delimited": None,
        "serde": None,
        "serde_properties": {},
        "stored_as": None,
        "input_format": None,
        "output_format": None,
    }
    properties: dict[str, str] = {}
    for prop in create.args["properties"].expressions if create.args.get("properties") else ():
        _apply_property(prop, out, properties)
    return CreateTable(
        table=table,
        if_not_exists=bool(create.args.get("exists")),
        columns=columns,
        properties=properties,
        **out,  # type: ignore[arg-type]
    )


def _apply_property(prop: exp.Expression, out: dict[str, object], tbl: dict[str, str]) -> None:
    if isinstance(prop, exp.ExternalProperty):
        out["external"] = True
    elif isinstance(prop, exp.SchemaCommentProperty):
        out["comment"] = prop.this.name
    elif isinstance(prop, exp.PartitionedByProperty):
        keys = prop.this.expressions if isinstance(prop.this, exp.Schema) else []
        out["partition_keys"] = tuple(_column(k) for k in keys)
    elif isinstance(prop, exp.LocationProperty):
        out["location"] = prop.this.name
    elif isinstance(prop, exp.RowFormatDelimitedProperty):
        out["delimited"] = {
            param: prop.args[arg].name for arg, param in _DELIMITED.items() if prop.args.get(arg)
        }
    elif isinstance(prop, exp.RowFormatSerdeProperty):
        out["serde"] = prop.this.name
        if (serde_properties := prop.args.get("serde_properties")) is not None:
            out["serde_properties"] = _pairs(serde_properties.expressions)
    elif isinstance(prop, exp.SerdeProperties):
        out["serde_properties"] = _pairs(prop.expressions)
    elif isinstance(prop, exp.FileFormatProperty):
        if isinstance(prop.this, exp.InputOutputFormat):
            out["input_format"] = prop.this.args["input_format"].name
            out["output_format"] = prop.this.args["output_format"].name
        else:
            name = prop.this.name.upper()
            if name not in STORAGE_FORMATS:
                raise _parse_error(
                    f"line 1:0 Unrecognized file format in STORED AS clause: '{name}'"
                )
            out["stored_as"] = name
    elif isinstance(prop, exp.Property):
        tbl.update(_pairs([prop]))
    else:
        raise QueryFailed(
            "NOT_SUPPORTED", f"CREATE EXTERNAL TABLE clause {prop.sql('hive')!r} is not supported"
        )


def _pairs(properties: Sequence[exp.Expression]) -> dict[str, str]:
    pairs = {}
    for prop in properties:
        key, value = prop.this, prop.args.get("value")
        pairs[key.name] = value.name if value is not None else ""
    return pairs


def _column(column: exp.Expression) -> ColumnSpec:
    if not isinstance(column, exp.ColumnDef) or column.args.get("kind") is None:
        raise _parse_error(f"line 1:0 cannot recognize input near '{column.sql('hive')}'")
    comment = None
    for constraint in column.args.get("constraints") or ():
        if isinstance(constraint.kind, exp.CommentColumnConstraint):
            comment = constraint.kind.this.name
    return ColumnSpec(column.this.name.lower(), hive_type(column.args["kind"]), comment)


def hive_type(data_type: exp.DataType) -> str:
    """The Hive type string Glue keeps (``struct<a:array<int>>``), lowercased."""
    kind = data_type.this
    inner = data_type.expressions
    if kind == exp.DataType.Type.ARRAY:
        return f"array<{hive_type(inner[0])}>"
    if kind == exp.DataType.Type.MAP:
        return f"map<{hive_type(inner[0])},{hive_type(inner[1])}>"
    if kind == exp.DataType.Type.STRUCT:
        fields = ",".join(f"{f.this.name.lower()}:{hive_type(f.args['kind'])}" for f in inner)
        return f"struct<{fields}>"
    name = _HIVE_TYPES.get(kind) or data_type.sql("hive").split("(")[0].lower()
    if inner:
        return f"{name}({','.join(p.name for p in inner)})"
    return name


def _table_from_expr(table: exp.Expression, database: str) -> TableName:
    if not isinstance(table, exp.Table) or table.args.get("catalog") is not None:
        raise _parse_error(
            f"line 1:0 cannot recognize input near '{table.sql('hive')}' in table name"
        )
    db = table.args.get("db")
    name = table.name.lower()
    db_name = db.name.lower() if db is not None else None
    written = f"{db_name}.{name}" if db_name else name
    return TableName(db_name or database.lower(), name, written)


# ---------------------------------------------------------------------- keyword walker


@dataclass
class _Walker:
    tokens: list[Token]
    sql: str
    database: str
    at: int = field(default=0)

    # -- primitives

    def peek(self, offset: int = 0) -> str:
        index = self.at + offset
        return self.tokens[index].text.upper() if index < len(self.tokens) else ""

    def peek_type(self) -> TokenType | None:
        return self.tokens[self.at].token_type if self.at < len(self.tokens) else None

    def accept(self, *words: str) -> bool:
        if all(self.peek(i) == word for i, word in enumerate(words)) and (
            self.at + len(words) <= len(self.tokens)
        ):
            self.at += len(words)
            return True
        return False

    def expect(self, word: str, where: str) -> None:
        if not self.accept(word):
            self.fail(f"expecting {word}", where)

    def fail(self, what: str, where: str) -> None:
        if self.at < len(self.tokens):
            token = self.tokens[self.at]
            near = f"mismatched input '{token.text}' {what}"
            line, col = token.line, max(token.col - len(token.text), 0)
        else:
            near, line, col = f"mismatched input '<EOF>' {what}", 1, len(self.sql)
        raise _parse_error(f"line {line}:{col} {near} in {where}")

    def identifier(self, where: str) -> str:
        token = self.tokens[self.at] if self.at < len(self.tokens) else None
        if token is None or token.token_type in _NOT_NAMES:
            self.fail("expecting an identifier", where)
        assert token is not None
        self.at += 1
        return token.text.lower()

    def string(self, where: str) -> str:
        if self.peek_type() != TokenType.STRING:
            self.fail("expecting a string literal", where)
        self.at += 1
        return self.tokens[self.at - 1].text

    def table(self, where: str = "table name") -> TableName:
        first = self.identifier(where)
        if self.accept("."):
            name = self.identifier(where)
            return TableName(first, name, f"{first}.{name}")
        return TableName(self.database.lower(), first, first)

    def end(self, where: str) -> None:
        if self.at < len(self.tokens):
            token = self.tokens[self.at]
            col = max(token.col - len(token.text), 0)
            raise _parse_error(f"line {token.line}:{col} missing EOF at '{token.text}' in {where}")

    def values(self, where: str) -> tuple[tuple[str, str], ...]:
        self.expect("(", where)
        pairs = []
        while True:
            key = self.identifier(where)
            self.expect("=", where)
            token = self.tokens[self.at] if self.at < len(self.tokens) else None
            if token is None or token.token_type not in (TokenType.STRING, TokenType.NUMBER):
                self.fail("expecting a constant", where)
            assert token is not None
            self.at += 1
            pairs.append((key, token.text))
            if not self.accept(","):
                break
        self.expect(")", where)
        return tuple(pairs)

    def properties(self, where: str) -> dict[str, str]:
        self.expect("(", where)
        pairs = {}
        while True:
            key = self.string(where)
            self.expect("=", where)
            pairs[key] = self.string(where)
            if not self.accept(","):
                break
        self.expect(")", where)
        return pairs

    # -- statements

    def statement(self) -> Statement:
        verb = self.peek()
        if verb in ("DESCRIBE", "DESC"):
            self.at += 1
            return self.describe()
        if self.accept("CREATE") and self.peek() in ("DATABASE", "SCHEMA"):
            self.at += 1
            return self.create_database()
        if self.accept("DROP"):
            if self.accept("TABLE"):
                if_exists = self.accept("IF", "EXISTS")
                table = self.table()
                self.accept("PURGE")
                self.end("drop statement")
                return DropTable(table, if_exists)
            if self.accept("VIEW"):
                if_exists = self.accept("IF", "EXISTS")
                table = self.table("view name")
                self.end("drop view statement")
                return DropView(table, if_exists)
            if self.peek() in ("DATABASE", "SCHEMA"):
                self.at += 1
                if_exists = self.accept("IF", "EXISTS")
                name = self.identifier("drop statement")
                cascade = self.accept("CASCADE")
                if not cascade:
                    self.accept("RESTRICT")
                self.end("drop statement")
                return DropDatabase(name, if_exists, cascade)
        elif self.accept("MSCK"):
            self.accept("REPAIR")
            self.expect("TABLE", "msck statement")
            table = self.table()
            self.end("msck statement")
            return MsckRepair(table)
        elif self.accept("ALTER", "TABLE"):
            return self.alter_table()
        elif self.accept("SHOW"):
            return self.show()
        raise QueryFailed(
            "NOT_SUPPORTED", f"Statement is not supported by the DDL engine: {_head(self.sql)}"
        )

    def create_database(self) -> CreateDatabase:
        where = "create database statement"
        if_not_exists = self.accept("IF", "NOT", "EXISTS")
        name = self.identifier(where)
        comment = location = None
        properties: dict[str, str] = {}
        while self.at < len(self.tokens):
            if self.accept("COMMENT"):
                comment = self.string(where)
            elif self.accept("LOCATION"):
                location = self.string(where)
            elif self.accept("WITH", "DBPROPERTIES"):
                properties = self.properties(where)
            else:
                self.end(where)
        return CreateDatabase(name, if_not_exists, comment, location, properties)

    def alter_table(self) -> Statement:
        table = self.table()
        if self.accept("ADD"):
            where = "add partition statement"
            if_not_exists = self.accept("IF", "NOT", "EXISTS")
            specs = []
            while self.accept("PARTITION"):
                values = self.values(where)
                location = self.string(where) if self.accept("LOCATION") else None
                specs.append(PartitionSpec(values, location))
            if not specs:
                self.fail("expecting PARTITION", where)
            self.end(where)
            return AddPartitions(table, if_not_exists, tuple(specs))
        if self.accept("DROP"):
            where = "drop partition statement"
            if_exists = self.accept("IF", "EXISTS")
            specs = []
            while True:
                self.expect("PARTITION", where)
                specs.append(PartitionSpec(self.values(where)))
                if not self.accept(","):
                    break
            self.accept("PURGE")
            self.end(where)
            return DropPartitions(table, if_exists, tuple(specs))
        raise QueryFailed(
            "NOT_SUPPORTED", f"Statement is not supported by the DDL engine: {_head(self.sql)}"
        )

    def show(self) -> Statement:
        if self.peek() in ("TABLES", "VIEWS"):
            views = self.peek() == "VIEWS"
            where = f"show {self.peek().lower()} statement"
            self.at += 1
            database = self.database.lower()
            if self.peek() in ("IN", "FROM"):
                self.at += 1
                database = self.identifier(where)
            self.accept("LIKE")
            pattern = self.string(where) if self.at < len(self.tokens) else None
            self.end(where)
            return ShowViews(database, pattern) if views else ShowTables(database, pattern)
        if self.peek() in ("DATABASES", "SCHEMAS"):
            self.at += 1
            pattern = None
            if self.accept("LIKE") or self.peek_type() == TokenType.STRING:
                pattern = self.string("show databases statement")
            self.end("show databases statement")
            return ShowDatabases(pattern)
        if self.accept("PARTITIONS"):
            table = self.table()
            self.end("show partitions statement")
            return ShowPartitions(table)
        if self.accept("CREATE", "TABLE"):
            table = self.table()
            self.end("show statement")
            return ShowCreateTable(table)
        if self.accept("CREATE", "VIEW"):
            table = self.table("view name")
            self.end("show statement")
            return ShowCreateView(table)
        if self.accept("COLUMNS"):
            if self.peek() not in ("IN", "FROM"):
                self.fail("expecting FROM or IN", "show columns statement")
            self.at += 1
            table = self.table()
            if self.peek() in ("IN", "FROM"):
                # SHOW COLUMNS IN t IN db: the database comes last
                self.at += 1
                db = self.identifier("show columns statement")
                table = TableName(db, table.name, f"{db}.{table.name}")
            self.end("show columns statement")
            return ShowColumns(table)
        if self.accept("TBLPROPERTIES"):
            table = self.table()
            key = None
            if self.accept("("):
                key = self.string("show tblproperties statement")
                self.expect(")", "show tblproperties statement")
            self.end("show tblproperties statement")
            return ShowTblProperties(table, key)
        raise QueryFailed(
            "NOT_SUPPORTED", f"Statement is not supported by the DDL engine: {_head(self.sql)}"
        )

    def describe(self) -> Describe:
        mode = ""
        # DESCRIBE VIEW v describes the view v ("DESCRIBE view" alone, a table named view)
        if self.peek() == "VIEW" and self.at + 1 < len(self.tokens):
            self.at += 1
        # "DESCRIBE extended" alone names a table called extended, as on Athena
        if self.peek() in ("EXTENDED", "FORMATTED") and self.at + 1 < len(self.tokens):
            mode = self.peek().lower()
            self.at += 1
        table = self.table()
        self.end("describe statement")
        return Describe(table, mode)


_NOT_NAMES = {
    TokenType.STRING,
    TokenType.NUMBER,
    TokenType.L_PAREN,
    TokenType.R_PAREN,
    TokenType.COMMA,
    TokenType.DOT,
    TokenType.EQ,
    TokenType.SEMICOLON,
}


def _head(sql: str) -> str:
    words = sql.split()
    return " ".join(words[:3]) if words else sql
