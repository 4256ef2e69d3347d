"""TPC-H data, generated with numpy and written as Parquet, for ``bench_query.py``.

DuckDB's ``tpch`` extension cannot be downloaded here, so this follows the TPC-H
specification (v3, section 4.2.3) closely enough that the 22 queries with their default
substitution parameters return non-empty, sensible results:

- the fixed REGION and NATION rows; SF x 10,000 suppliers, 200,000 parts (4 PARTSUPP rows
  each, suppliers spread as dbgen spreads them), 150,000 customers, 1,500,000 orders
  (sparse keys: 8 of every 32; customers whose key is a multiple of 3 order nothing)
  with 1 to 7 line items each;
- part names of 5 colours from the spec's 92, types, containers, brands and segments
  from its word lists; phones whose country code is the nation key + 10;
- order dates from 1992-01-01 to 1998-08-02; ship, commit and receipt dates offset as
  the spec says; ``l_returnflag`` R or A when received by 1995-06-17, else N;
  ``l_linestatus`` O when shipped after it, else F; ``o_orderstatus`` F, O or P from
  the order's line items; ``o_totalprice`` and ``l_extendedprice`` from the part's
  retail price;
- comments drawn from a pool of random sentences over a word list, and "Customer ...
  Complaints" / "Customer ... Recommends" in 5 of every 10,000 supplier comments each.

Money is DECIMAL(15,2), dates DATE, keys BIGINT, other numbers INT. Values are random
(seeded), not dbgen's streams, so results differ from the published answer sets.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

SEED = 20260101
ROW_GROUP = 122_880  # DuckDB's own row-group size: each is a unit of parallel scan
START_DAY = np.datetime64("1992-01-01", "D")
END_DAY = np.datetime64("1998-12-31", "D")
CURRENT_DAY = np.datetime64("1995-06-17", "D")
MONEY = pa.decimal128(15, 2)

REGIONS = ["AFRICA", "AMERICA", "ASIA", "EUROPE", "MIDDLE EAST"]
NATIONS = [
    ("ALGERIA", 0),
    ("ARGENTINA", 1),
    ("BRAZIL", 1),
    ("CANADA", 1),
    ("EGYPT", 4),
    ("ETHIOPIA", 0),
    ("FRANCE", 3),
    ("GERMANY", 3),
    ("INDIA", 2),
    ("INDONESIA", 2),
    ("IRAN", 4),
    ("IRAQ", 4),
    ("JAPAN", 2),
    ("JORDAN", 4),
    ("KENYA", 0),
    ("MOROCCO", 0),
    ("MOZAMBIQUE", 0),
    ("PERU", 1),
    ("CHINA", 2),
    ("ROMANIA", 3),
    ("SAUDI ARABIA", 4),
    ("VIETNAM", 2),
    ("RUSSIA", 3),
    ("UNITED KINGDOM", 3),
    ("UNITED STATES", 1),
]
COLORS = (  # noqa: SIM905 (the spec's list, as it prints it)
    "almond antique aquamarine azure beige bisque black blanched blue blush brown burlywood "
    "burnished chartreuse chiffon chocolate coral cornflower cornsilk cream cyan dark deep "
    "dim dodger drab firebrick floral forest frosted gainsboro ghost goldenrod green grey "
    "honeydew hot indian ivory khaki lace lavender lawn lemon light lime linen magenta "
    "maroon medium metallic midnight mint misty moccasin navajo navy olive orange orchid "
    "pale papaya peach peru pink plum powder puff purple red rose rosy royal saddle salmon "
    "sandy seashell sienna sky slate smoke snow spring steel tan thistle tomato turquoise "
    "violet wheat white yellow"
).split()
TYPE_1 = ["STANDARD", "SMALL", "MEDIUM", "LARGE", "ECONOMY", "PROMO"]
TYPE_2 = ["ANODIZED", "BURNISHED", "PLATED", "POLISHED", "BRUSHED"]
TYPE_3 = ["TIN", "NICKEL", "BRASS", "STEEL", "COPPER"]
CONTAINER_1 = ["SM", "LG", "MED", "JUMBO", "WRAP"]
CONTAINER_2 = ["CASE", "BOX", "BAG", "JAR", "PKG", "PACK", "CAN", "DRUM"]
SEGMENTS = ["AUTOMOBILE", "BUILDING", "FURNITURE", "MACHINERY", "HOUSEHOLD"]
PRIORITIES = ["1-URGENT", "2-HIGH", "3-MEDIUM", "4-NOT SPECIFIED", "5-LOW"]
INSTRUCTIONS = ["DELIVER IN PERSON", "COLLECT COD", "NONE", "TAKE BACK RETURN"]
MODES = ["REG AIR", "AIR", "RAIL", "SHIP", "TRUCK", "MAIL", "FOB"]
# The spec's grammar words (nouns, verbs, adjectives, adverbs, prepositions, auxiliaries).
WORDS = (  # noqa: SIM905
    "foxes ideas theodolites pinto beans instructions dependencies excuses platelets "
    "asymptotes courts dolphins multipliers sauternes warthogs frets dinos attainments "
    "somas Tiresias patterns forges braids hockey players frays warhorses dugouts notornis "
    "epitaphs pearls tithes waters orbits gifts sheaves depths sentiments decoys realms "
    "pains grouches escapades packages requests accounts deposits sleep wake are cajole "
    "haggle nag use boost affix detect integrate maintain nod was lose sublate solve "
    "thrash promise engage hinder print x-ray breach eat grow impress mold poach serve run "
    "dazzle snooze doze unwind kindle play hang believe doubt furious sly careful blithe "
    "quick fluffy slow quiet ruthless thin close dogged daring brave stealthy permanent "
    "enticing idle busy regular final ironic even bold silent special pending express "
    "unusual sometimes always never furiously slyly carefully blithely quickly fluffily "
    "slowly quietly ruthlessly thinly closely doggedly daringly bravely stealthily "
    "permanently enticingly idly busily regularly finally ironically evenly boldly "
    "silently about above according to across after against along alongside of among "
    "around at atop before behind beneath beside besides between beyond by despite during "
    "except for from in place of inside instead of into near of on outside over past since "
    "through throughout toward under until up upon whithout with within do may might "
    "shall will would can could should ought to must will have to shall have to could have "
    "to should have to must have to need to try to"
).split()
COMMENT_POOL = 1 << 16  # distinct comments per table; rows draw from them

# Each table's columns: (name, Hive type) in the spec's order.
SCHEMA: dict[str, list[tuple[str, str]]] = {
    "region": [("r_regionkey", "bigint"), ("r_name", "string"), ("r_comment", "string")],
    "nation": [
        ("n_nationkey", "bigint"),
        ("n_name", "string"),
        ("n_regionkey", "bigint"),
        ("n_comment", "string"),
    ],
    "supplier": [
        ("s_suppkey", "bigint"),
        ("s_name", "string"),
        ("s_address", "string"),
        ("s_nationkey", "bigint"),
        ("s_phone", "string"),
        ("s_acctbal", "decimal(15,2)"),
        ("s_comment", "string"),
    ],
    "customer": [
        ("c_custkey", "bigint"),
        ("c_name", "string"),
        ("c_address", "string"),
        ("c_nationkey", "bigint"),
        ("c_phone", "string"),
        ("c_acctbal", "decimal(15,2)"),
        ("c_mktsegment", "string"),
        ("c_comment", "string"),
    ],
    "part": [
        ("p_partkey", "bigint"),
        ("p_name", "string"),
        ("p_mfgr", "string"),
        ("p_brand", "string"),
        ("p_type", "string"),
        ("p_size", "int"),
        ("p_container", "string"),
        ("p_retailprice", "decimal(15,2)"),
        ("p_comment", "string"),
    ],
    "partsupp": [
        ("ps_partkey", "bigint"),
        ("ps_suppkey", "bigint"),
        ("ps_availqty", "int"),
        ("ps_supplycost", "decimal(15,2)"),
        ("ps_comment", "string"),
    ],
    "orders": [
        ("o_orderkey", "bigint"),
        ("o_custkey", "bigint"),
        ("o_orderstatus", "string"),
        ("o_totalprice", "decimal(15,2)"),
        ("o_orderdate", "date"),
        ("o_orderpriority", "string"),
        ("o_clerk", "string"),
        ("o_shippriority", "int"),
        ("o_comment", "string"),
    ],
    "lineitem": [
        ("l_orderkey", "bigint"),
        ("l_partkey", "bigint"),
        ("l_suppkey", "bigint"),
        ("l_linenumber", "int"),
        ("l_quantity", "decimal(15,2)"),
        ("l_extendedprice", "decimal(15,2)"),
        ("l_discount", "decimal(15,2)"),
        ("l_tax", "decimal(15,2)"),
        ("l_returnflag", "string"),
        ("l_linestatus", "string"),
        ("l_shipdate", "date"),
        ("l_commitdate", "date"),
        ("l_receiptdate", "date"),
        ("l_shipinstruct", "string"),
        ("l_shipmode", "string"),
        ("l_comment", "string"),
    ],
}
TABLES = list(SCHEMA)
FILES = {"lineitem": 8, "orders": 4, "partsupp": 2}  # Parquet files per table (else 1)


# ---------------------------------------------------------------------------- columns


def money(cents: np.ndarray) -> pa.Array:
    """DECIMAL(15,2) from integer cents, built straight from 128-bit little-endian words."""
    cents = np.asarray(cents, dtype=np.int64)
    words = np.empty((len(cents), 2), dtype=np.int64)
    words[:, 0] = cents
    words[:, 1] = np.where(cents < 0, -1, 0)
    return pa.Array.from_buffers(MONEY, len(cents), [None, pa.py_buffer(words.tobytes())])


def dates(days: np.ndarray) -> pa.Array:
    """DATE from numpy ``datetime64[D]``."""
    return pa.array(days.astype("datetime64[D]").astype(np.int32), type=pa.int32()).view(
        pa.date32()
    )


def pick(words: list[str], index: np.ndarray) -> pa.Array:
    """Strings from a word list by index."""
    return pa.array(words, type=pa.string()).take(pa.array(index, type=pa.int64()))


def formatted(pattern: str, values: np.ndarray) -> pa.Array:
    """``pattern % v`` for each value (names such as Supplier#000000042)."""
    return pa.array([pattern % v for v in values.tolist()], type=pa.string())


def _text(rng: np.random.Generator, low: int, high: int) -> str:
    target = int(rng.integers(low, high + 1))
    out: list[str] = []
    length = 0
    while length < target:
        word = WORDS[int(rng.integers(len(WORDS)))]
        out.append(word)
        length += len(word) + 1
    return " ".join(out)[:target].strip()


def comments(rng: np.random.Generator, rows: int, low: int, high: int) -> pa.Array:
    """Random sentences of ``low`` to ``high`` characters from a pool of distinct ones."""
    pool = [_text(rng, low, high) for _ in range(min(rows, COMMENT_POOL))]
    return pick(pool, rng.integers(0, len(pool), rows))


def addresses(rng: np.random.Generator, rows: int) -> pa.Array:
    """Random alphanumeric strings of 10 to 40 characters (the spec's V-string)."""
    alphabet = np.array(list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789,. "))
    pool = [
        "".join(alphabet[rng.integers(0, len(alphabet), int(rng.integers(10, 41)))])
        for _ in range(min(rows, COMMENT_POOL))
    ]
    return pick(pool, rng.integers(0, len(pool), rows))


def phones(rng: np.random.Generator, nations: np.ndarray) -> pa.Array:
    """``CC-ddd-ddd-dddd`` with the country code nation key + 10."""
    a = rng.integers(100, 1000, len(nations))
    b = rng.integers(100, 1000, len(nations))
    c = rng.integers(1000, 10000, len(nations))
    return pa.array(
        [
            f"{n + 10}-{x}-{y}-{z}"
            for n, x, y, z in zip(nations.tolist(), a.tolist(), b.tolist(), c.tolist(), strict=True)
        ],
        type=pa.string(),
    )


def retail_cents(partkey: np.ndarray) -> np.ndarray:
    """The spec's P_RETAILPRICE, in cents."""
    return np.asarray(90000 + ((partkey // 10) % 20001) + 100 * (partkey % 1000))


def partsupp_supplier(partkey: np.ndarray, i: np.ndarray | int, suppliers: int) -> np.ndarray:
    """The spec's PS_SUPPKEY for the part's ``i``-th supplier (0 to 3)."""
    return np.asarray((partkey + i * (suppliers // 4 + (partkey - 1) // suppliers)) % suppliers + 1)


# ---------------------------------------------------------------------------- tables


def generate(scale: float, seed: int = SEED) -> dict[str, pa.Table]:
    """The 8 tables at scale factor ``scale``."""
    rng = np.random.default_rng(seed)
    suppliers = max(int(10_000 * scale), 10)
    parts = max(int(200_000 * scale), 10)
    customers = max(int(150_000 * scale), 10)
    orders = max(int(1_500_000 * scale), 10)
    clerks = max(int(1_000 * scale), 1)
    out: dict[str, pa.Table] = {}

    out["region"] = pa.table(
        {
            "r_regionkey": pa.array(range(5), pa.int64()),
            "r_name": pa.array(REGIONS),
            "r_comment": comments(rng, 5, 31, 115),
        }
    )
    out["nation"] = pa.table(
        {
            "n_nationkey": pa.array(range(25), pa.int64()),
            "n_name": pa.array([n for n, _ in NATIONS]),
            "n_regionkey": pa.array([r for _, r in NATIONS], pa.int64()),
            "n_comment": comments(rng, 25, 31, 114),
        }
    )

    # SUPPLIER, with the Q16 complaints and recommendations
    s_key = np.arange(1, suppliers + 1, dtype=np.int64)
    s_nation = rng.integers(0, 25, suppliers)
    s_comment = comments(rng, suppliers, 25, 100).to_pylist()
    marked = rng.choice(suppliers, size=2 * max(1, suppliers * 5 // 10_000), replace=False)
    for n, row in enumerate(marked.tolist()):
        word = "Complaints" if n % 2 == 0 else "Recommends"
        s_comment[row] = f"{s_comment[row][:40]} Customer {word} {s_comment[row][40:70]}".strip()
    out["supplier"] = pa.table(
        {
            "s_suppkey": s_key,
            "s_name": formatted("Supplier#%09d", s_key),
            "s_address": addresses(rng, suppliers),
            "s_nationkey": s_nation.astype(np.int64),
            "s_phone": phones(rng, s_nation),
            "s_acctbal": money(rng.integers(-99_999, 1_000_000, suppliers)),
            "s_comment": pa.array(s_comment, pa.string()),
        }
    )

    # PART
    p_key = np.arange(1, parts + 1, dtype=np.int64)
    colour = np.argsort(rng.random((parts, len(COLORS)), dtype=np.float32), axis=1)[:, :5]
    colours = np.array(COLORS, dtype=object)[colour]
    p_name = [" ".join(row) for row in colours.tolist()]
    mfgr = rng.integers(1, 6, parts)
    brand = mfgr * 10 + rng.integers(1, 6, parts)
    types = [f"{a} {b} {c}" for a in TYPE_1 for b in TYPE_2 for c in TYPE_3]
    containers = [f"{a} {b}" for a in CONTAINER_1 for b in CONTAINER_2]
    out["part"] = pa.table(
        {
            "p_partkey": p_key,
            "p_name": pa.array(p_name, pa.string()),
            "p_mfgr": formatted("Manufacturer#%d", mfgr),
            "p_brand": formatted("Brand#%d", brand),
            "p_type": pick(types, rng.integers(0, len(types), parts)),
            "p_size": rng.integers(1, 51, parts).astype(np.int32),
            "p_container": pick(containers, rng.integers(0, len(containers), parts)),
            "p_retailprice": money(retail_cents(p_key)),
            "p_comment": comments(rng, parts, 5, 22),
        }
    )

    # PARTSUPP: 4 suppliers per part
    ps_part = np.repeat(p_key, 4)
    ps_i = np.tile(np.arange(4, dtype=np.int64), parts)
    out["partsupp"] = pa.table(
        {
            "ps_partkey": ps_part,
            "ps_suppkey": partsupp_supplier(ps_part, ps_i, suppliers),
            "ps_availqty": rng.integers(1, 10_000, 4 * parts).astype(np.int32),
            "ps_supplycost": money(rng.integers(100, 100_001, 4 * parts)),
            "ps_comment": comments(rng, 4 * parts, 49, 198),
        }
    )

    # CUSTOMER
    c_key = np.arange(1, customers + 1, dtype=np.int64)
    c_nation = rng.integers(0, 25, customers)
    out["customer"] = pa.table(
        {
            "c_custkey": c_key,
            "c_name": formatted("Customer#%09d", c_key),
            "c_address": addresses(rng, customers),
            "c_nationkey": c_nation.astype(np.int64),
            "c_phone": phones(rng, c_nation),
            "c_acctbal": money(rng.integers(-99_999, 1_000_000, customers)),
            "c_mktsegment": pick(SEGMENTS, rng.integers(0, len(SEGMENTS), customers)),
            "c_comment": comments(rng, customers, 29, 116),
        }
    )

    # ORDERS and LINEITEM
    index = np.arange(orders, dtype=np.int64)
    o_key = (index // 8) * 32 + index % 8 + 1
    ordering = c_key[c_key % 3 != 0]
    o_cust = ordering[rng.integers(0, len(ordering), orders)]
    last_order_day = END_DAY - np.timedelta64(151, "D")
    span = int((last_order_day - START_DAY).astype(int)) + 1
    o_date = START_DAY + rng.integers(0, span, orders).astype("timedelta64[D]")

    lines = rng.integers(1, 8, orders)
    total = int(lines.sum())
    owner = np.repeat(index, lines)  # each line's order (row index)
    first = np.cumsum(lines) - lines
    l_number = (np.arange(total) - np.repeat(first, lines) + 1).astype(np.int32)
    l_part = rng.integers(1, parts + 1, total).astype(np.int64)
    l_supp = partsupp_supplier(l_part, rng.integers(0, 4, total), suppliers)
    quantity = rng.integers(1, 51, total)
    price = quantity * retail_cents(l_part)  # cents
    discount = rng.integers(0, 11, total)  # hundredths
    tax = rng.integers(0, 9, total)
    line_order_day = o_date[owner]
    ship = line_order_day + rng.integers(1, 122, total).astype("timedelta64[D]")
    commit = line_order_day + rng.integers(30, 91, total).astype("timedelta64[D]")
    receipt = ship + rng.integers(1, 31, total).astype("timedelta64[D]")
    returned = np.where(rng.random(total) < 0.5, 0, 1)  # R or A
    flag = np.where(receipt <= CURRENT_DAY, returned, 2)
    status = np.where(ship > CURRENT_DAY, 0, 1)  # O or F

    charged = price * (100 + tax) * (100 - discount) / 10_000  # cents, as a float
    o_total = np.rint(np.bincount(owner, weights=charged, minlength=orders)).astype(np.int64)
    finished = np.bincount(owner, weights=status, minlength=orders)
    o_status = np.where(finished == lines, 0, np.where(finished == 0, 1, 2))  # F, O, P

    out["orders"] = pa.table(
        {
            "o_orderkey": o_key,
            "o_custkey": o_cust,
            "o_orderstatus": pick(["F", "O", "P"], o_status),
            "o_totalprice": money(o_total),
            "o_orderdate": dates(o_date),
            "o_orderpriority": pick(PRIORITIES, rng.integers(0, len(PRIORITIES), orders)),
            "o_clerk": formatted("Clerk#%09d", rng.integers(1, clerks + 1, orders)),
            "o_shippriority": np.zeros(orders, dtype=np.int32),
            "o_comment": comments(rng, orders, 19, 78),
        }
    )
    out["lineitem"] = pa.table(
        {
            "l_orderkey": o_key[owner],
            "l_partkey": l_part,
            "l_suppkey": l_supp,
            "l_linenumber": l_number,
            "l_quantity": money(quantity * 100),
            "l_extendedprice": money(price),
            "l_discount": money(discount),
            "l_tax": money(tax),
            "l_returnflag": pick(["R", "A", "N"], flag),
            "l_linestatus": pick(["O", "F"], status),
            "l_shipdate": dates(ship),
            "l_commitdate": dates(commit),
            "l_receiptdate": dates(receipt),
            "l_shipinstruct": pick(INSTRUCTIONS, rng.integers(0, len(INSTRUCTIONS), total)),
            "l_shipmode": pick(MODES, rng.integers(0, len(MODES), total)),
            "l_comment": comments(rng, total, 10, 43),
        }
    )
    return out


# ---------------------------------------------------------------------------- on disk


def scale_folder(root: Path, scale: float) -> Path:
    """Where the Parquet files for ``scale`` are cached under ``root``."""
    return root / f"sf{scale:g}"


def table_files(folder: Path, table: str) -> list[Path]:
    """The table's Parquet files in ``folder``, in order."""
    return sorted((folder / table).glob("*.parquet"))


def ensure(
    root: Path, scale: float, report: Callable[[str], None] = lambda _: None
) -> tuple[Path, float]:
    """The folder holding every table's Parquet files at ``scale`` (generated and written
    unless a complete set is cached there), and the seconds spent generating."""
    folder = scale_folder(root, scale)
    done = folder / "_COMPLETE"
    if done.exists():
        return folder, 0.0
    started = time.perf_counter()
    if folder.exists():
        shutil.rmtree(folder)
    report(f"generating TPC-H at SF {scale:g}")
    tables = generate(scale)
    for name, table in tables.items():
        report(f"writing {name} ({table.num_rows:,} rows)")
        (folder / name).mkdir(parents=True)
        parts = FILES.get(name, 1)
        step = -(-table.num_rows // parts)
        for part in range(parts):
            piece = table.slice(part * step, step)
            pq.write_table(
                piece,
                folder / name / f"part-{part:02d}.parquet",
                row_group_size=ROW_GROUP,
                compression="snappy",
            )
    done.write_text(f"{scale:g}\n")
    return folder, time.perf_counter() - started
