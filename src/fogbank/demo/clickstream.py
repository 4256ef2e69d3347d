"""The demo's clickstream: ad impressions generated from a known logistic click model.

This module owns the first stage of `fogbank demo`: it invents users, pages and ads,
spreads impressions over a window with a daily traffic curve, and draws each
`clicked` from :class:`ClickModel`, a logistic model whose coefficients are known.
Because the truth is known, later stages (a linear learner or XGBoost trained on the
lake after Kinesis, Firehose, Glue and Athena) can be checked against it:
:func:`bayes_auc` is the AUC the true model reaches on a batch (what a trained model
should approach and, beyond noise, not beat), and :func:`roc_auc` scores a trained
model the same way.

The batch is columnar (:class:`ClickstreamBatch`, one numpy array per field) so that
100,000 events take a fraction of a second; :meth:`ClickstreamBatch.to_records` turns it into
the JSON-ready dicts a producer puts on a stream, and :meth:`~ClickstreamBatch.partition_keys`
gives the Hive-style ``year=/month=/day=/hour=`` prefix Firehose would write each to.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

__all__ = [
    "AD_CATEGORIES",
    "AGE_BUCKETS",
    "DEVICES",
    "PAGE_CATEGORIES",
    "RECORD_FIELDS",
    "ClickFeatures",
    "ClickModel",
    "ClickstreamBatch",
    "age_bucket",
    "bayes_auc",
    "generate_clickstream",
    "hour_partition",
    "iter_chunks",
    "roc_auc",
]

StrArray = npt.NDArray[np.str_]
FloatArray = npt.NDArray[np.float64]

DEVICES: tuple[str, ...] = ("mobile", "desktop", "tablet")
PAGE_CATEGORIES: tuple[str, ...] = (
    "news",
    "sports",
    "finance",
    "tech",
    "travel",
    "entertainment",
    "shopping",
    "health",
)
AD_CATEGORIES: tuple[str, ...] = (
    "retail",
    "auto",
    "finance",
    "travel",
    "tech",
    "gaming",
    "food",
    "insurance",
)
# Lower edges of the age buckets; the model keys its age effect by these labels.
_AGE_EDGES = (18, 25, 35, 45, 55, 65)
AGE_BUCKETS: tuple[str, ...] = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")

RECORD_FIELDS: tuple[str, ...] = (
    "event_id",
    "timestamp",
    "user_id",
    "device",
    "os",
    "page",
    "page_category",
    "ad_id",
    "ad_category",
    "position",
    "dwell_seconds",
    "user_age",
    "user_ctr_affinity",
    "hour",
    "clicked",
    "click_probability",
)

# How the generator draws the world. These shape the data, not the click model.
_DEVICE_SHARE = (0.58, 0.32, 0.10)
_OS_BY_DEVICE: Mapping[str, tuple[tuple[str, ...], tuple[float, ...]]] = {
    "mobile": (("android", "ios"), (0.6, 0.4)),
    "desktop": (("windows", "macos", "linux"), (0.7, 0.25, 0.05)),
    "tablet": (("ios", "android"), (0.65, 0.35)),
}
_PAGE_CATEGORY_SHARE = (0.24, 0.15, 0.08, 0.10, 0.07, 0.15, 0.13, 0.08)
_AD_CATEGORY_SHARE = (0.22, 0.10, 0.10, 0.12, 0.14, 0.10, 0.12, 0.10)
_POSITION_SHARE = (0.40, 0.28, 0.18, 0.14)
_N_PAGES = 800
# Relative traffic by UTC hour of day: a trough before dawn, a peak in the evening.
_TRAFFIC_BY_HOUR = np.array(
    [0.55, 0.40, 0.30, 0.25, 0.22, 0.28, 0.45, 0.65, 0.80, 0.88, 0.92, 0.95,
     1.00, 0.97, 0.93, 0.92, 0.95, 1.00, 1.10, 1.20, 1.25, 1.20, 1.00, 0.75],
)  # fmt: skip
_MS_PER_HOUR = 3_600_000


class ClickFeatures(Protocol):
    """The columns the click model reads; a :class:`ClickstreamBatch` is one."""

    @property
    def device(self) -> StrArray: ...
    @property
    def page_category(self) -> StrArray: ...
    @property
    def ad_category(self) -> StrArray: ...
    @property
    def position(self) -> npt.NDArray[np.int8]: ...
    @property
    def hour(self) -> npt.NDArray[np.int8]: ...
    @property
    def dwell_seconds(self) -> FloatArray: ...
    @property
    def user_age(self) -> npt.NDArray[np.int16]: ...
    @property
    def user_ctr_affinity(self) -> FloatArray: ...


@dataclass(frozen=True)
class ClickModel:
    """The true click model: an additive logistic regression on the impression's features.

    ``logit = intercept + device[d] + page_category[p] + ad_category[a] + position[k]
    + age[age_bucket(user_age)] + hour_amplitude * cos(2π (hour - hour_peak) / 24)
    + affinity * user_ctr_affinity + dwell * log1p(dwell_seconds)``

    Every term is linear in a one-hot category or in a fixed transform of a number
    (``cos``/``sin`` of the hour, ``log1p`` of the dwell time), so a linear learner given
    those features can reach the Bayes AUC, and XGBoost can from the raw columns.
    """

    intercept: float
    device: Mapping[str, float] = field(hash=False)
    page_category: Mapping[str, float] = field(hash=False)
    ad_category: Mapping[str, float] = field(hash=False)
    position: Mapping[int, float] = field(hash=False)
    age: Mapping[str, float] = field(hash=False)
    hour_amplitude: float
    hour_peak: float
    affinity: float
    dwell: float

    @classmethod
    def default(cls) -> ClickModel:
        """The model `fogbank demo` uses: about 4% CTR and a Bayes AUC near 0.77."""
        return cls(
            intercept=-5.0,
            device={"mobile": 0.0, "desktop": -0.30, "tablet": 0.15},
            page_category={
                "news": -0.25,
                "sports": 0.0,
                "finance": -0.15,
                "tech": 0.10,
                "travel": 0.35,
                "entertainment": 0.20,
                "shopping": 0.50,
                "health": 0.05,
            },
            ad_category={
                "retail": 0.20,
                "auto": -0.20,
                "finance": -0.40,
                "travel": 0.25,
                "tech": 0.0,
                "gaming": 0.45,
                "food": 0.15,
                "insurance": -0.55,
            },
            position={1: 0.0, 2: -0.50, 3: -1.00, 4: -1.50},
            age={
                "18-24": 0.30,
                "25-34": 0.15,
                "35-44": 0.0,
                "45-54": -0.10,
                "55-64": -0.20,
                "65+": -0.30,
            },
            hour_amplitude=0.25,
            hour_peak=21.0,
            affinity=18.0,
            dwell=0.30,
        )

    def logit(self, events: ClickFeatures) -> FloatArray:
        """The log-odds of a click for each event."""
        hour = np.asarray(events.hour, dtype=np.float64)
        z = np.full(hour.shape, self.intercept, dtype=np.float64)
        z += _lookup(self.device, events.device, "device")
        z += _lookup(self.page_category, events.page_category, "page_category")
        z += _lookup(self.ad_category, events.ad_category, "ad_category")
        z += _lookup(self.position, events.position, "position")
        z += _lookup(self.age, age_bucket(events.user_age), "age")
        z += self.hour_amplitude * np.cos(2.0 * np.pi * (hour - self.hour_peak) / 24.0)
        z += self.affinity * np.asarray(events.user_ctr_affinity, dtype=np.float64)
        z += self.dwell * np.log1p(np.asarray(events.dwell_seconds, dtype=np.float64))
        return z

    def probability(self, events: ClickFeatures) -> FloatArray:
        """The true probability that each event is clicked: the sigmoid of :meth:`logit`."""
        # exp(-log(1 + exp(-z))) is the sigmoid without overflow for large |z|.
        probability: FloatArray = np.exp(-np.logaddexp(0.0, -self.logit(events)))
        return probability


def _lookup(coefficients: Mapping[Any, float], values: npt.NDArray[Any], name: str) -> FloatArray:
    """Each value's coefficient; a value the model has no coefficient for is an error."""
    out = np.zeros(values.shape, dtype=np.float64)
    matched = np.zeros(values.shape, dtype=np.bool_)
    for key, coefficient in coefficients.items():
        hit = values == key
        out[hit] = coefficient
        matched |= hit
    if not matched.all():
        unknown = values[~matched][0]
        raise ValueError(
            f"The click model has no {name} coefficient for {unknown.item()!r}; "
            f"add it to ClickModel.{name} (known: {sorted(coefficients)})."
        )
    return out


def age_bucket(user_age: npt.ArrayLike) -> StrArray:
    """The age-bucket label (one of :data:`AGE_BUCKETS`) of each age in years."""
    ages = np.asarray(user_age)
    if ages.size and ages.min() < _AGE_EDGES[0]:
        raise ValueError(f"user_age must be at least {_AGE_EDGES[0]}; got {ages.min()}.")
    index = np.digitize(ages, _AGE_EDGES[1:])
    labels: StrArray = np.asarray(AGE_BUCKETS)[index]
    return labels


@dataclass(frozen=True)
class ClickstreamBatch:
    """A batch of ad impressions, one numpy array per field, all of one length.

    ``timestamp`` is ``datetime64[ms]`` in UTC, ``hour`` its UTC hour of day,
    ``clicked`` is 0 or 1 and ``click_probability`` the true probability it was drawn from.
    """

    event_id: StrArray
    timestamp: npt.NDArray[np.datetime64]
    user_id: StrArray
    device: StrArray
    os: StrArray
    page: StrArray
    page_category: StrArray
    ad_id: StrArray
    ad_category: StrArray
    position: npt.NDArray[np.int8]
    dwell_seconds: FloatArray
    user_age: npt.NDArray[np.int16]
    user_ctr_affinity: FloatArray
    hour: npt.NDArray[np.int8]
    clicked: npt.NDArray[np.int8]
    click_probability: FloatArray

    def __post_init__(self) -> None:
        lengths = {f.name: len(getattr(self, f.name)) for f in fields(self)}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"Every column of a ClickstreamBatch needs one length; got {lengths}.")

    def __len__(self) -> int:
        return len(self.event_id)

    def __getitem__(
        self, index: slice | npt.NDArray[np.bool_] | npt.NDArray[np.intp]
    ) -> ClickstreamBatch:
        """The events a slice, boolean mask or index array picks, as a new batch."""
        columns = {f.name: getattr(self, f.name)[index] for f in fields(self)}
        return ClickstreamBatch(**columns)

    @property
    def ctr(self) -> float:
        """The realised click-through rate of the batch."""
        return float(self.clicked.mean()) if len(self) else float("nan")

    def partition_keys(self) -> StrArray:
        """Each event's Hive-style hour partition, as :func:`hour_partition` gives it."""
        hours = self.timestamp.astype("datetime64[h]")
        distinct, inverse = np.unique(hours, return_inverse=True)
        paths = np.asarray([hour_partition(h) for h in distinct], dtype=np.str_)
        keys: StrArray = paths[inverse.reshape(-1)]
        return keys

    def to_records(self) -> Iterator[dict[str, Any]]:
        """The events as JSON-ready dicts with the keys of :data:`RECORD_FIELDS`, in order.

        ``timestamp`` is ISO-8601 UTC with milliseconds and ``Z``
        (``2026-01-01T00:00:00.123Z``); numbers are Python ``int``/``float``, floats rounded
        (dwell to 0.01 s, affinity to 4 places, probability to 6).
        """
        columns: dict[str, list[Any]] = {
            "event_id": self.event_id.tolist(),
            "timestamp": np.datetime_as_string(self.timestamp, unit="ms", timezone="UTC").tolist(),
            "user_id": self.user_id.tolist(),
            "device": self.device.tolist(),
            "os": self.os.tolist(),
            "page": self.page.tolist(),
            "page_category": self.page_category.tolist(),
            "ad_id": self.ad_id.tolist(),
            "ad_category": self.ad_category.tolist(),
            "position": self.position.tolist(),
            "dwell_seconds": np.round(self.dwell_seconds, 2).tolist(),
            "user_age": self.user_age.tolist(),
            "user_ctr_affinity": np.round(self.user_ctr_affinity, 4).tolist(),
            "hour": self.hour.tolist(),
            "clicked": self.clicked.tolist(),
            "click_probability": np.round(self.click_probability, 6).tolist(),
        }
        names = list(columns)
        for row in zip(*columns.values(), strict=True):
            yield dict(zip(names, row, strict=True))


def iter_chunks(batch: ClickstreamBatch, size: int) -> Iterator[ClickstreamBatch]:
    """Consecutive pieces of ``batch`` of ``size`` events (the last may be shorter)."""
    if size < 1:
        raise ValueError(f"Chunk size must be at least 1; got {size}.")
    for start in range(0, len(batch), size):
        yield batch[start : start + size]


def hour_partition(ts: datetime | np.datetime64) -> str:
    """The Hive-style hour partition of an instant, in UTC.

    For example ``year=2026/month=01/day=01/hour=00``: the prefix Firehose writes for
    a ``year=!{timestamp:yyyy}/month=!{timestamp:MM}/...`` custom prefix.
    A ``datetime`` must be timezone-aware; a ``numpy.datetime64`` is read as UTC.
    """
    if isinstance(ts, np.datetime64):
        moment = ts.astype("datetime64[us]").item()
        if not isinstance(moment, datetime):
            raise ValueError(f"Cannot place {ts!r} in an hour partition.")
    else:
        if ts.tzinfo is None or ts.utcoffset() is None:
            raise ValueError(
                f"hour_partition needs a timezone-aware datetime; got naive {ts.isoformat()}."
            )
        moment = ts.astimezone(UTC)
    return (
        f"year={moment.year:04d}/month={moment.month:02d}"
        f"/day={moment.day:02d}/hour={moment.hour:02d}"
    )


def roc_auc(labels: npt.ArrayLike, scores: npt.ArrayLike) -> float:
    """The area under the ROC curve of ``scores`` for binary ``labels`` (ties count half).

    Computed from ranks (the Mann-Whitney U statistic), in O(n log n).
    """
    y = np.asarray(labels).astype(np.bool_).reshape(-1)
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    if y.shape != s.shape:
        raise ValueError(f"labels and scores need one length; got {y.size} and {s.size}.")
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError("AUC needs at least one positive and one negative label.")
    order = np.argsort(s, kind="stable")
    sorted_scores = s[order]
    # Tied scores share the mean of the 1-based ranks their run covers.
    starts = np.flatnonzero(np.r_[True, sorted_scores[1:] != sorted_scores[:-1]])
    ends = np.r_[starts[1:], s.size]
    run_ranks = (starts + 1 + ends) / 2.0
    ranks = np.empty(s.size, dtype=np.float64)
    ranks[order] = np.repeat(run_ranks, ends - starts)
    u = ranks[y].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def bayes_auc(batch: ClickstreamBatch) -> float:
    """The AUC of the true click probability against the realised clicks.

    The true probability is the best score these features allow, so a trained model's
    :func:`roc_auc` on the same events should come close to this and, beyond sampling
    noise, not exceed it.
    """
    return roc_auc(batch.clicked, batch.click_probability)


@dataclass(frozen=True)
class _Impressions:
    """The model's inputs for a batch being generated, before its clicks are drawn."""

    device: StrArray
    page_category: StrArray
    ad_category: StrArray
    position: npt.NDArray[np.int8]
    hour: npt.NDArray[np.int8]
    dwell_seconds: FloatArray
    user_age: npt.NDArray[np.int16]
    user_ctr_affinity: FloatArray


def generate_clickstream(
    n_events: int,
    *,
    start: datetime,
    hours: int = 24,
    seed: int = 0,
    model: ClickModel | None = None,
    n_users: int = 5000,
    n_ads: int = 300,
) -> ClickstreamBatch:
    """Generate ``n_events`` ad impressions in ``[start, start + hours)``, sorted by time.

    The same arguments give the same batch. Users keep one device, OS, age and past-CTR
    affinity, and their activity is Zipf-like (a few heavy users); pages and ads keep one
    category; traffic follows a daily curve (UTC) that peaks in the evening. Each
    ``clicked`` is a Bernoulli draw with the ``model``'s probability
    (:meth:`ClickModel.default` when none is given).
    """
    if n_events < 0:
        raise ValueError(f"n_events must be at least 0; got {n_events}.")
    if hours < 1:
        raise ValueError(f"hours must be at least 1; got {hours}.")
    if n_users < 1 or n_ads < 1:
        raise ValueError(f"n_users and n_ads must be at least 1; got {n_users} and {n_ads}.")
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValueError(
            "start must be timezone-aware, e.g. datetime(2026, 1, 1, tzinfo=UTC); "
            f"got naive {start.isoformat()}."
        )
    model = ClickModel.default() if model is None else model
    rng = np.random.default_rng(seed)

    # The world: users, pages and ads, each with fixed attributes.
    user_device = rng.choice(len(DEVICES), size=n_users, p=_DEVICE_SHARE)
    user_os = np.empty(n_users, dtype="<U7")
    for code, device in enumerate(DEVICES):
        names, shares = _OS_BY_DEVICE[device]
        mine = user_device == code
        user_os[mine] = np.asarray(names)[rng.choice(len(names), size=int(mine.sum()), p=shares)]
    user_age = np.clip(np.rint(rng.normal(38.0, 13.0, size=n_users)), 18, 80).astype(np.int16)
    # Past CTR: mostly a few percent, with a tail of keen clickers.
    user_affinity = np.round(rng.beta(1.5, 28.0, size=n_users), 4)
    user_activity = _zipf_weights(rng, n_users, exponent=0.75)
    user_names = _labels("u-", n_users)

    page_category_code = rng.choice(len(PAGE_CATEGORIES), size=_N_PAGES, p=_PAGE_CATEGORY_SHARE)
    page_categories = np.asarray(PAGE_CATEGORIES)
    page_names = np.char.add(
        np.char.add("/", page_categories[page_category_code]),
        _labels("/article-", _N_PAGES),
    )
    page_popularity = _zipf_weights(rng, _N_PAGES, exponent=1.0)

    ad_category_code = rng.choice(len(AD_CATEGORIES), size=n_ads, p=_AD_CATEGORY_SHARE)
    ad_popularity = _zipf_weights(rng, n_ads, exponent=0.6)
    ad_names = _labels("ad-", n_ads)

    # The impressions.
    timestamp = _traffic_timestamps(rng, n_events, start, hours)
    user = rng.choice(n_users, size=n_events, p=user_activity)
    page = rng.choice(_N_PAGES, size=n_events, p=page_popularity)
    ad = rng.choice(n_ads, size=n_events, p=ad_popularity)
    position = (rng.choice(4, size=n_events, p=_POSITION_SHARE) + 1).astype(np.int8)
    dwell_seconds = np.round(rng.lognormal(np.log(25.0), 1.0, size=n_events), 2)
    hour = (timestamp.astype("datetime64[h]").astype(np.int64) % 24).astype(np.int8)

    impressions = _Impressions(
        device=np.asarray(DEVICES)[user_device[user]],
        page_category=page_categories[page_category_code[page]],
        ad_category=np.asarray(AD_CATEGORIES)[ad_category_code[ad]],
        position=position,
        hour=hour,
        dwell_seconds=dwell_seconds,
        user_age=user_age[user],
        user_ctr_affinity=user_affinity[user],
    )
    probability = model.probability(impressions)
    clicked = (rng.random(n_events) < probability).astype(np.int8)

    batch = ClickstreamBatch(
        event_id=_uuid4_strings(rng, n_events),
        timestamp=timestamp,
        user_id=user_names[user],
        device=impressions.device,
        os=user_os[user],
        page=page_names[page],
        page_category=impressions.page_category,
        ad_id=ad_names[ad],
        ad_category=impressions.ad_category,
        position=position,
        dwell_seconds=dwell_seconds,
        user_age=impressions.user_age,
        user_ctr_affinity=impressions.user_ctr_affinity,
        hour=hour,
        clicked=clicked,
        click_probability=probability,
    )
    # The batch is a value: nobody downstream should edit it in place.
    for f in fields(batch):
        getattr(batch, f.name).flags.writeable = False
    return batch


def _zipf_weights(rng: np.random.Generator, n: int, *, exponent: float) -> FloatArray:
    """Selection probabilities proportional to rank**-exponent, ranks shuffled over items."""
    weights = np.arange(1, n + 1, dtype=np.float64) ** -exponent
    weights = rng.permutation(weights)
    normalised: FloatArray = weights / weights.sum()
    return normalised


def _labels(prefix: str, n: int) -> StrArray:
    """``prefix`` followed by 0..n-1, zero-padded to one width (at least 4 digits)."""
    width = max(4, len(str(n - 1)))
    labels: StrArray = np.char.add(prefix, np.char.zfill(np.arange(n).astype(np.str_), width))
    return labels


def _traffic_timestamps(
    rng: np.random.Generator, n: int, start: datetime, hours: int
) -> npt.NDArray[np.datetime64]:
    """``n`` sorted instants in ``[start, start + hours)`` following the daily traffic curve."""
    # Round start up to the millisecond so no event falls before it.
    start_utc = start.astimezone(UTC).replace(tzinfo=None)
    start_ms = np.datetime64(start_utc, "us").astype(np.int64)
    start_ms = -(-start_ms // 1000)
    # Intensity per minute, interpolated between the hourly levels (and across midnight).
    minute_ms = start_ms + np.arange(hours * 60, dtype=np.int64) * 60_000
    hour_of_day = (minute_ms % (24 * _MS_PER_HOUR)) / _MS_PER_HOUR
    levels = np.interp(hour_of_day, np.arange(24) + 0.5, _TRAFFIC_BY_HOUR, period=24)
    cdf = np.cumsum(levels)
    minute = np.searchsorted(cdf, rng.random(n) * cdf[-1], side="right")
    minute = np.minimum(minute, hours * 60 - 1)
    offset_ms = minute * 60_000 + rng.integers(0, 60_000, size=n)
    offset_ms.sort()
    stamps: npt.NDArray[np.datetime64] = (start_ms + offset_ms).astype("datetime64[ms]")
    return stamps


_HEX_DIGITS = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def _uuid4_strings(rng: np.random.Generator, n: int) -> StrArray:
    """``n`` random version-4 UUIDs as strings, drawn from ``rng`` (so seeded)."""
    raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40  # version 4
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
    hex_chars = np.empty((n, 32), dtype=np.uint8)
    hex_chars[:, 0::2] = _HEX_DIGITS[raw >> 4]
    hex_chars[:, 1::2] = _HEX_DIGITS[raw & 0x0F]
    dashed = np.full((n, 36), ord("-"), dtype=np.uint8)
    # 8-4-4-4-12 hex digits; each group after the first shifts right by one dash.
    for group, (lo, hi) in enumerate(((0, 8), (8, 12), (12, 16), (16, 20), (20, 32))):
        dashed[:, lo + group : hi + group] = hex_chars[:, lo:hi]
    ids: StrArray = np.ascontiguousarray(dashed).view("S36").reshape(n).astype(np.str_)
    return ids
