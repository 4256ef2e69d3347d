"""Record format conversion: JSON records to Parquet or ORC in a Glue table's schema.

:class:`FormatConversion` is a destination's ``DataFormatConversionConfiguration``,
checked once at CreateDeliveryStream and UpdateDestination with AWS's rules: the three
parts (SchemaConfiguration, InputFormatConfiguration.Deserializer with exactly one of
OpenXJsonSerDe / HiveJsonSerDe, OutputFormatConfiguration.Serializer with exactly one of
ParquetSerDe / OrcSerDe) are required, CompressionFormat must stay UNCOMPRESSED (the
serializer compresses), and BufferingHints.SizeInMBs is at least 64 (default 128).

At delivery the table's columns are read from the catalog (VersionId ``LATEST``: the
current definition, so a schema change applies from the next object; a number: that
table version). Each Firehose record holds one or more concatenated JSON objects (not an
array); each object becomes a row. A record that does not fit (not JSON, not objects, a
value that cannot be read as its column's type) is left out of the object, whole, and
returned as a failure for the ``format-conversion-failed`` error output: values are
never dropped or coerced silently. Keys not among the columns are ignored, missing
keys are null, as Hive's SerDes read them.

What each deserializer takes (fogbank's reading of the two SerDes):

- both: keys are matched to columns case-insensitively (OpenX ``CaseInsensitive``
  defaults to true; with it false a key must equal the column name);
- OpenX: ``ConvertDotsInJsonKeysToUnderscores``, ``ColumnToJsonKeyMappings``
  (column -> JSON key); numbers and booleans given as strings are read for numeric and
  boolean columns; timestamps as ``yyyy-MM-dd'T'HH:mm:ss[.S]Z``, ``yyyy-M-d HH:mm:ss[.S]``
  or epoch numbers (seconds, or milliseconds when over 10^11);
- Hive: numbers sent as strings are refused; timestamps as ``yyyy-M-d H:m:s[.f]``
  (``java.sql.Timestamp.valueOf``) unless ``TimestampFormats`` lists ``millis`` or
  Joda patterns (y M d H m s S and quoted text) to try in order.

Timestamps are stored at millisecond precision, Hive's and Athena's.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

from fogbank.core.errors import InvalidArgumentException

FEATURE = "DataFormatConversionConfiguration"
MIN_SIZE_MBS = 64
DEFAULT_SIZE_MBS = 128
ERROR_OUTPUT_TYPE = "format-conversion-failed"
# The error code written in the error records of a record that does not fit the schema.
MALFORMED = "DataFormatConversion.MalformedData"
PARQUET_COMPRESSION = {"SNAPPY": "snappy", "GZIP": "gzip", "UNCOMPRESSED": "none"}
ORC_COMPRESSION = {"SNAPPY": "snappy", "ZLIB": "zlib", "NONE": "uncompressed"}
_INTEGERS = {"tinyint": 8, "smallint": 16, "int": 32, "integer": 32, "bigint": 64}
_EPOCH = datetime(1970, 1, 1)
# The column types RowReader.table reads in bulk: Arrow's JSON reader takes exactly the
# values rows() takes for them (the others, and float's rounding, are read one by one).
_BULK_TYPES = {*_INTEGERS, "string", "boolean", "double"}
# Arrow's JSON blocks: a record (at most 1,000 KiB) and its newline fit in one.
_BULK_BLOCK_BYTES = 4 * 1024 * 1024
_BOM = "\ufeff".encode()
_MILLIS_THRESHOLD = 10**11


class SchemaMismatch(ValueError):
    """A value that cannot be read as its column's type."""


@dataclass(frozen=True)
class FormatConversion:
    """A checked DataFormatConversionConfiguration that is enabled."""

    config: dict[str, Any]

    @classmethod
    def parse(cls, settings: Mapping[str, Any]) -> FormatConversion | None:
        """The destination's conversion, or None when it has none (or it is disabled);
        the rules AWS applies to the destination around it are checked here too."""
        given = settings.get(FEATURE)
        if not given or not given.get("Enabled", True):
            return None
        for part in (
            "SchemaConfiguration",
            "InputFormatConfiguration",
            "OutputFormatConfiguration",
        ):
            if not given.get(part):
                raise InvalidArgumentException(
                    f"{FEATURE}.{part} is required when format conversion is enabled."
                )
        schema = given["SchemaConfiguration"]
        for key in ("DatabaseName", "TableName", "RoleARN"):
            if not schema.get(key):
                raise InvalidArgumentException(
                    f"{FEATURE}.SchemaConfiguration.{key} is required: name the Glue table "
                    "whose schema the records are converted to, and the role to read it."
                )
        version = str(schema.get("VersionId", "LATEST"))
        if version != "LATEST" and not version.isdigit():
            raise InvalidArgumentException(
                f"SchemaConfiguration.VersionId {version!r} is neither LATEST nor a table "
                "version number."
            )
        deserializer = given["InputFormatConfiguration"].get("Deserializer") or {}
        serializer = given["OutputFormatConfiguration"].get("Serializer") or {}
        _exactly_one(deserializer, ("OpenXJsonSerDe", "HiveJsonSerDe"), "Deserializer")
        _exactly_one(serializer, ("ParquetSerDe", "OrcSerDe"), "Serializer")
        compression = settings.get("CompressionFormat", "UNCOMPRESSED")
        if compression != "UNCOMPRESSED":
            raise InvalidArgumentException(
                f"CompressionFormat {compression} cannot be used with format conversion: "
                "set it to UNCOMPRESSED and choose the serializer's Compression instead."
            )
        size = int((settings.get("BufferingHints") or {}).get("SizeInMBs", DEFAULT_SIZE_MBS))
        if size < MIN_SIZE_MBS:
            raise InvalidArgumentException(
                f"BufferingHints.SizeInMBs is {size}; when you enable record format "
                f"conversion, the minimum buffer size is {MIN_SIZE_MBS} MiB."
            )
        made = cls(dict(given))
        for option in made.timestamp_formats or ():
            if option != "millis":
                _joda_regex(option)  # fails early on a pattern fogbank cannot read
        return made

    # ------------------------------------------------------------ settings

    @property
    def schema(self) -> Mapping[str, Any]:
        return dict(self.config["SchemaConfiguration"])

    @property
    def version_id(self) -> str:
        return str(self.schema.get("VersionId", "LATEST"))

    @property
    def _deserializer(self) -> Mapping[str, Any]:
        return dict(self.config["InputFormatConfiguration"]["Deserializer"])

    @property
    def _serializer(self) -> Mapping[str, Any]:
        return dict(self.config["OutputFormatConfiguration"]["Serializer"])

    @property
    def openx(self) -> bool:
        return "OpenXJsonSerDe" in self._deserializer

    @property
    def timestamp_formats(self) -> list[str] | None:
        hive = self._deserializer.get("HiveJsonSerDe")
        return list(hive.get("TimestampFormats") or []) if hive is not None else None

    @property
    def parquet(self) -> bool:
        return "ParquetSerDe" in self._serializer

    @property
    def extension(self) -> str:
        return ".parquet" if self.parquet else ".orc"

    def catalog_table(self, region: str, account_id: str) -> dict[str, Any]:
        """The error records' ``dataCatalogTable``."""
        schema = self.schema
        catalog_id = schema.get("CatalogId") or account_id
        table_region = schema.get("Region") or region
        return {
            "catalogId": catalog_id,
            "databaseName": schema["DatabaseName"],
            "tableName": schema["TableName"],
            "region": table_region,
            "versionId": self.version_id,
            "catalogArn": f"arn:aws:glue:{table_region}:{catalog_id}:catalog",
        }

    # ------------------------------------------------------------ conversion

    def reader(self, columns: Sequence[Mapping[str, Any]]) -> RowReader:
        """How records are read into rows of these Glue columns."""
        openx = dict(self._deserializer.get("OpenXJsonSerDe") or {})
        mappings = {
            str(k).lower(): str(v) for k, v in (openx.get("ColumnToJsonKeyMappings") or {}).items()
        }
        return RowReader(
            [(str(c["Name"]), parse_hive_type(str(c.get("Type", "string")))) for c in columns],
            openx=self.openx,
            case_insensitive=bool(openx.get("CaseInsensitive", True)) or not self.openx,
            dots_to_underscores=bool(openx.get("ConvertDotsInJsonKeysToUnderscores", False)),
            mappings=mappings,
            timestamp_formats=self.timestamp_formats,
        )

    def write(self, table: pa.Table) -> bytes:
        import pyarrow.orc as orc  # Arrow loads with the first conversion, not at start-up
        import pyarrow.parquet as pq

        """The rows as one Parquet or ORC file, compressed as the serializer says."""
        sink = io.BytesIO()
        if self.parquet:
            serde = dict(self._serializer["ParquetSerDe"])
            codec = PARQUET_COMPRESSION[str(serde.get("Compression", "SNAPPY"))]
            pq.write_table(
                table,
                sink,
                compression=codec,
                use_dictionary=bool(serde.get("EnableDictionaryCompression", True)),
            )
        else:
            serde = dict(self._serializer["OrcSerDe"])
            orc.write_table(
                table, sink, compression=ORC_COMPRESSION[str(serde.get("Compression", "SNAPPY"))]
            )
        return sink.getvalue()


def _exactly_one(given: Mapping[str, Any], names: tuple[str, str], what: str) -> None:
    present = [n for n in names if given.get(n) is not None]
    if len(present) != 1:
        raise InvalidArgumentException(
            f"{FEATURE}: the {what} takes exactly one of {' or '.join(names)}; got {len(present)}."
        )


# ---------------------------------------------------------------- Hive types


@dataclass(frozen=True)
class HiveType:
    """A parsed Hive column type: ``name`` with its parameters and element types."""

    name: str
    params: tuple[int, ...] = ()
    items: tuple[HiveType, ...] = ()
    fields: tuple[tuple[str, HiveType], ...] = field(default=())

    def arrow(self) -> pa.DataType:
        import pyarrow as pa

        if self.name in _INTEGERS:
            return {8: pa.int8(), 16: pa.int16(), 32: pa.int32(), 64: pa.int64()}[
                _INTEGERS[self.name]
            ]
        simple = {
            "string": pa.string(),
            "varchar": pa.string(),
            "char": pa.string(),
            "boolean": pa.bool_(),
            "float": pa.float32(),
            "double": pa.float64(),
            "date": pa.date32(),
            "timestamp": pa.timestamp("ms"),
            "binary": pa.binary(),
        }
        if self.name in simple:
            return simple[self.name]
        if self.name == "decimal":
            precision, scale = _precision_scale(self.params)
            return pa.decimal128(precision, scale)
        if self.name == "array":
            return pa.list_(self.items[0].arrow())
        if self.name == "map":
            return pa.map_(self.items[0].arrow(), self.items[1].arrow())
        return pa.struct([(name, kind.arrow()) for name, kind in self.fields])


_TOKEN = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*|\d+|[<>(),:])")


def parse_hive_type(text: str) -> HiveType:
    """A Glue column's Hive type (``int``, ``decimal(10,2)``, ``array<struct<a:int>>``)."""
    tokens = [m.group(1) for m in _TOKEN.finditer(text)]
    if "".join(tokens) != re.sub(r"\s+", "", text):
        raise SchemaMismatch(f"the column type {text!r} is not a Hive type")
    position = 0

    def take(expected: str | None = None) -> str:
        nonlocal position
        if position >= len(tokens):
            raise SchemaMismatch(f"the column type {text!r} ends too soon")
        token = tokens[position]
        if expected is not None and token != expected:
            raise SchemaMismatch(f"the column type {text!r} has {token!r} where {expected!r} goes")
        position += 1
        return token

    def peek() -> str | None:
        return tokens[position] if position < len(tokens) else None

    def one() -> HiveType:
        name = take().lower()
        if name in ("array", "map", "struct"):
            take("<")
            if name == "struct":
                fields: list[tuple[str, HiveType]] = []
                while True:
                    field_name = take()
                    take(":")
                    fields.append((field_name.lower(), one()))
                    if take() == ">":
                        return HiveType(name, fields=tuple(fields))
            items = [one()]
            if name == "map":
                take(",")
                items.append(one())
            take(">")
            return HiveType(name, items=tuple(items))
        params: list[int] = []
        if peek() == "(":
            take("(")
            params.append(int(take()))
            while take() == ",":
                params.append(int(take()))
        known = {*_INTEGERS, "string", "varchar", "char", "boolean", "float", "double"}
        if name not in known | {"date", "timestamp", "binary", "decimal"}:
            raise SchemaMismatch(f"the column type {name!r} is not one fogbank converts to")
        return HiveType(name, tuple(params))

    parsed = one()
    if position != len(tokens):
        raise SchemaMismatch(f"the column type {text!r} has text after its end")
    return parsed


# ---------------------------------------------------------------- reading rows


@dataclass
class RowReader:
    """Reads Firehose records into rows of the table's columns."""

    columns: list[tuple[str, HiveType]]
    openx: bool
    case_insensitive: bool
    dots_to_underscores: bool
    mappings: dict[str, str]
    timestamp_formats: list[str] | None

    @property
    def schema(self) -> pa.Schema:
        import pyarrow as pa

        return pa.schema([(name, kind.arrow()) for name, kind in self.columns])

    def table(self, records: Sequence[bytes]) -> pa.Table | None:
        """Every record's rows as one table, read by Arrow's JSON reader in one pass, when
        that is sure to equal reading each record with :meth:`rows`; None when it cannot
        be sure (a record that may not fit, a key that matches a column only once folded,
        a column type Arrow reads differently): then the records are read one by one.

        The records are joined with newlines and read as one JSON stream; each record's
        own objects become its rows, as :meth:`rows` makes them. Arrow refuses what
        ``rows`` refuses for these column types (a value of another JSON type, a fraction
        or an out-of-range number for an integer, a duplicate key, a record that is not
        objects), so a refusal anywhere only sends the whole claim down the per-record
        path, which finds the records at fault."""
        keys = self._bulk_keys()
        if keys is None or not records:
            return None
        # Arrow's reader takes a newline as JSON whitespace, so an object could run on
        # from one record into the next; not from a record that ends with "}", into one
        # that begins with "{" (nor through a string: JSON strings hold no newline). A
        # blank record, which rows() refuses and Arrow would skip, is not braced either.
        if not all(_braced(record) for record in records):
            return None
        joined = b"\n".join(records)
        if _BOM in joined:  # Arrow skips a byte order mark, which rows() refuses
            return None
        try:
            joined.decode("utf-8")  # Arrow does not check that strings are UTF-8
        except UnicodeDecodeError:
            return None
        import pyarrow as pa  # loaded by the first converted delivery only
        import pyarrow.compute as pc
        import pyarrow.json as pj

        read_as = pa.schema(
            [(key, kind.arrow()) for key, (_, kind) in zip(keys, self.columns, strict=True)]
        )
        try:
            table = pj.read_json(
                pa.py_buffer(joined),
                read_options=pj.ReadOptions(block_size=_BULK_BLOCK_BYTES),
                parse_options=pj.ParseOptions(
                    explicit_schema=read_as,
                    newlines_in_values=False,
                    # Other keys are read too, only to see whether one of them folds onto
                    # a column (``EVENT_ID`` for ``event_id``): rows() would take it.
                    unexpected_field_behavior="infer",
                ),
            )
        except pa.lib.ArrowException:
            return None
        wanted = set(keys)
        if any(self._fold(name) in wanted for name in table.schema.names if name not in wanted):
            return None
        if table.num_rows < len(records):  # cannot happen: each record has an object
            return None
        columns = []
        for key, (_, kind) in zip(keys, self.columns, strict=True):
            column = table.column(key)
            # JSON's NaN and Infinity, which Arrow reads as numbers and rows() refuses.
            if kind.name == "double" and (
                pc.any(pc.is_nan(column)).as_py() or pc.any(pc.is_inf(column)).as_py()
            ):
                return None
            columns.append(column)
        return pa.Table.from_arrays(columns, schema=self.schema)

    def _bulk_keys(self) -> list[str] | None:
        """The JSON key each column is read from in bulk; None when a column's type is
        one Arrow's JSON reader does not read as rows() does, or keys would clash."""
        keys: list[str] = []
        for name, kind in self.columns:
            simple = kind.name in _BULK_TYPES or (
                kind.name in ("varchar", "char") and not kind.params
            )
            wanted = self.mappings.get(name.lower(), name)
            key = wanted.lower() if self.case_insensitive else wanted
            # A key that rows() would not find as written (it holds a dot that is read
            # as an underscore) cannot be looked up by its exact name.
            if not simple or self._fold(key) != key:
                return None
            keys.append(key)
        return keys if len(set(keys)) == len(keys) else None

    def _fold(self, key: str) -> str:
        """A document's key as rows() looks it up."""
        if self.dots_to_underscores:
            key = key.replace(".", "_")
        return key.lower() if self.case_insensitive else key

    def rows(self, record: bytes) -> list[dict[str, Any]]:
        """The rows in one record; SchemaMismatch (with the reason) where it does not fit."""
        try:
            text = record.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SchemaMismatch(f"the record is not UTF-8 text: {exc}") from None
        decoder = json.JSONDecoder(parse_float=Decimal)
        rows: list[dict[str, Any]] = []
        position = _skip_space(text, 0)
        while position < len(text):
            try:
                value, position = decoder.raw_decode(text, position)
            except json.JSONDecodeError as exc:
                raise SchemaMismatch(f"the record is not JSON: {exc}") from None
            if not isinstance(value, dict):
                raise SchemaMismatch(
                    f"the record holds a JSON {type(value).__name__}, not an object; an array "
                    "of JSON documents is not valid input: concatenate objects instead"
                )
            rows.append(self._row(value))
            position = _skip_space(text, position)
        if not rows:
            raise SchemaMismatch("the record holds no JSON object")
        return rows

    def _row(self, document: Mapping[str, Any]) -> dict[str, Any]:
        keys = self._keys(document)
        row: dict[str, Any] = {}
        for name, kind in self.columns:
            wanted = self.mappings.get(name.lower(), name)
            key = wanted.lower() if self.case_insensitive else wanted
            try:
                row[name] = self._value(keys.get(key), kind)
            except SchemaMismatch as exc:
                raise SchemaMismatch(f"column {name!r} ({_type_text(kind)}): {exc}") from None
        return row

    def _keys(self, document: Mapping[str, Any]) -> dict[str, Any]:
        return {self._fold(key): value for key, value in document.items()}

    def _value(self, value: Any, kind: HiveType) -> Any:
        if value is None:
            return None
        reader = _READERS.get(kind.name)
        if reader is not None:
            return reader(self, value, kind)
        if kind.name == "array":
            if not isinstance(value, list):
                raise SchemaMismatch(f"{_show(value)} is not a JSON array")
            return [self._value(item, kind.items[0]) for item in value]
        if kind.name == "map":
            if not isinstance(value, dict):
                raise SchemaMismatch(f"{_show(value)} is not a JSON object")
            return [
                (self._value(k, kind.items[0]), self._value(v, kind.items[1]))
                for k, v in value.items()
            ]
        if not isinstance(value, dict):
            raise SchemaMismatch(f"{_show(value)} is not a JSON object")
        inner = self._keys(value)
        return {
            name: self._value(inner.get(name if not self.case_insensitive else name.lower()), t)
            for name, t in kind.fields
        }

    # one reader per primitive type ----------------------------------------

    def _string(self, value: Any, kind: HiveType) -> str:
        if isinstance(value, str):
            text = value
        elif isinstance(value, (dict, list)):
            if not self.openx:
                raise SchemaMismatch(f"{_show(value)} is not a string")
            text = json.dumps(value, default=str)
        elif isinstance(value, bool):
            text = "true" if value else "false"
        else:
            text = str(value)
        if kind.name in ("varchar", "char") and kind.params and len(text) > kind.params[0]:
            raise SchemaMismatch(f"{_show(value)} is longer than {kind.params[0]} characters")
        return text

    def _boolean(self, value: Any, kind: HiveType) -> bool:
        if isinstance(value, bool):
            return value
        if self.openx and isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise SchemaMismatch(f"{_show(value)} is not a boolean")

    def _integer(self, value: Any, kind: HiveType) -> int:
        number: Any = value
        if self.openx and isinstance(value, str):
            try:
                number = int(value.strip())
            except ValueError:
                raise SchemaMismatch(f"{_show(value)} is not an integer") from None
        if isinstance(number, bool) or not isinstance(number, int):
            raise SchemaMismatch(f"{_show(value)} is not an integer")
        bits = _INTEGERS[kind.name]
        if not -(2 ** (bits - 1)) <= number < 2 ** (bits - 1):
            raise SchemaMismatch(f"{number} is out of the range of {kind.name}")
        return number

    def _floating(self, value: Any, kind: HiveType) -> float:
        number: Any = value
        if self.openx and isinstance(value, str):
            number = _decimal(value)
        if isinstance(number, bool) or not isinstance(number, (int, Decimal)):
            raise SchemaMismatch(f"{_show(value)} is not a number")
        return float(number)

    def _decimal(self, value: Any, kind: HiveType) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, (int, Decimal, str)):
            raise SchemaMismatch(f"{_show(value)} is not a number")
        if isinstance(value, str) and not self.openx:
            raise SchemaMismatch(f"{_show(value)} is a string, not a number")
        number = _decimal(str(value))
        precision, scale = _precision_scale(kind.params)
        exponent = number.as_tuple().exponent
        if not isinstance(exponent, int):
            raise SchemaMismatch(f"{_show(value)} is not a finite number")
        if -exponent > scale:
            raise SchemaMismatch(f"{_show(value)} has more than {scale} decimal places")
        quantized = number.quantize(Decimal(1).scaleb(-scale))
        if len(quantized.as_tuple().digits) > precision:
            raise SchemaMismatch(f"{_show(value)} has more than {precision} digits")
        return quantized

    def _date(self, value: Any, kind: HiveType) -> date:
        if isinstance(value, str):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                pass
        raise SchemaMismatch(f"{_show(value)} is not a date (yyyy-MM-dd)")

    def _timestamp(self, value: Any, kind: HiveType) -> datetime:
        if self.timestamp_formats:
            for option in self.timestamp_formats:
                found = _timestamp_with(value, option)
                if found is not None:
                    return found
            raise SchemaMismatch(
                f"{_show(value)} matches none of TimestampFormats {self.timestamp_formats}"
            )
        if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
            if not self.openx:
                raise SchemaMismatch(f"{_show(value)} is a number, not a timestamp")
            number = Decimal(value)
            millis = number if abs(number) >= _MILLIS_THRESHOLD else number * 1000
            try:
                return _EPOCH + timedelta(milliseconds=int(millis))
            except OverflowError:
                raise SchemaMismatch(f"{_show(value)} is out of the range of timestamp") from None
        if isinstance(value, str):
            found = _iso_timestamp(value, allow_iso=self.openx)
            if found is not None:
                return found
        raise SchemaMismatch(f"{_show(value)} is not a timestamp")

    def _binary(self, value: Any, kind: HiveType) -> bytes:
        if isinstance(value, str):
            return value.encode("utf-8")
        raise SchemaMismatch(f"{_show(value)} is not a string")


_READERS: dict[str, Callable[[RowReader, Any, HiveType], Any]] = {
    "string": RowReader._string,
    "varchar": RowReader._string,
    "char": RowReader._string,
    "boolean": RowReader._boolean,
    **dict.fromkeys(_INTEGERS, RowReader._integer),
    "float": RowReader._floating,
    "double": RowReader._floating,
    "decimal": RowReader._decimal,
    "date": RowReader._date,
    "timestamp": RowReader._timestamp,
    "binary": RowReader._binary,
}

_SQL_TIMESTAMP = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})[ T](\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d{1,9}))?(Z)?"
)


def _iso_timestamp(text: str, *, allow_iso: bool) -> datetime | None:
    match = _SQL_TIMESTAMP.fullmatch(text.strip())
    if match is None:
        return None
    iso = "T" in text or match.group(8) is not None
    if iso and not (allow_iso and "T" in text and match.group(8)):
        return None  # OpenX reads yyyy-MM-dd'T'HH:mm:ss[.S]'Z'; Hive's default neither
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    fraction = (match.group(7) or "").ljust(6, "0")[:6]
    try:
        return datetime(year, month, day, hour, minute, second, int(fraction))
    except ValueError:
        return None


_JODA = {
    "yyyy": r"(?P<year>\d{4})",
    "MM": r"(?P<month>\d{2})",
    "M": r"(?P<month>\d{1,2})",
    "dd": r"(?P<day>\d{2})",
    "d": r"(?P<day>\d{1,2})",
    "HH": r"(?P<hour>\d{2})",
    "H": r"(?P<hour>\d{1,2})",
    "mm": r"(?P<minute>\d{2})",
    "m": r"(?P<minute>\d{1,2})",
    "ss": r"(?P<second>\d{2})",
    "s": r"(?P<second>\d{1,2})",
    "SSS": r"(?P<fraction>\d{3})",
    "SS": r"(?P<fraction>\d{2})",
    "S": r"(?P<fraction>\d{1,9})",
}


def _joda_regex(pattern: str) -> re.Pattern[str]:
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "'":
            end = pattern.find("'", i + 1)
            if end < 0:
                raise InvalidArgumentException(
                    f"HiveJsonSerDe.TimestampFormats: {pattern!r} has an unclosed quote."
                )
            out.append(re.escape(pattern[i + 1 : end]))
            i = end + 1
            continue
        if char.isalpha():
            run = 1
            while i + run < len(pattern) and pattern[i + run] == char:
                run += 1
            letters = pattern[i : i + run]
            if letters not in _JODA:
                raise InvalidArgumentException(
                    f"HiveJsonSerDe.TimestampFormats: fogbank does not read {letters!r} in "
                    f"{pattern!r}; use yyyy, M/MM, d/dd, H/HH, m/mm, s/ss, S..., quoted "
                    "text, or 'millis'."
                )
            out.append(_JODA[letters])
            i += run
            continue
        out.append(re.escape(char))
        i += 1
    return re.compile("".join(out))


def _timestamp_with(value: Any, option: str) -> datetime | None:
    if option == "millis":
        if isinstance(value, int) and not isinstance(value, bool):
            return _EPOCH + timedelta(milliseconds=value)
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return _EPOCH + timedelta(milliseconds=int(value))
        return None
    if not isinstance(value, str):
        return None
    match = _joda_regex(option).fullmatch(value.strip())
    if match is None:
        return None
    parts = match.groupdict()
    fraction = (parts.get("fraction") or "").ljust(6, "0")[:6]
    try:
        return datetime(
            int(parts.get("year") or 1970),
            int(parts.get("month") or 1),
            int(parts.get("day") or 1),
            int(parts.get("hour") or 0),
            int(parts.get("minute") or 0),
            int(parts.get("second") or 0),
            int(fraction),
        )
    except ValueError:
        return None


def _precision_scale(params: tuple[int, ...]) -> tuple[int, int]:
    """decimal(p, s); Hive's decimal alone is decimal(10, 0), decimal(p) is decimal(p, 0)."""
    if not params:
        return 10, 0
    return params[0], params[1] if len(params) > 1 else 0


def _decimal(text: str) -> Decimal:
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        raise SchemaMismatch(f"{_show(text)} is not a number") from None
    if not number.is_finite():
        raise SchemaMismatch(f"{_show(text)} is not a finite number")
    return number


def _braced(record: bytes) -> bool:
    """Whether the record, less JSON whitespace around it, begins with { and ends with }."""
    if not (record.startswith(b"{") and record.endswith(b"}")):
        record = record.strip(b" \t\r\n")
    return record.startswith(b"{") and record.endswith(b"}")


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position


def _show(value: Any) -> str:
    shown = json.dumps(value, default=str)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def _type_text(kind: HiveType) -> str:
    if kind.name in ("array", "map"):
        return f"{kind.name}<{','.join(_type_text(i) for i in kind.items)}>"
    if kind.name == "struct":
        return "struct<" + ",".join(f"{n}:{_type_text(t)}" for n, t in kind.fields) + ">"
    if kind.params:
        return f"{kind.name}({','.join(str(p) for p in kind.params)})"
    return kind.name
