"""The demo clickstream: seeded, realistic, and clicked according to its known model."""

from __future__ import annotations

import dataclasses
import json
import re
import uuid
from datetime import UTC, date, datetime, timedelta, timezone

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fogbank.demo.clickstream import (
    AD_CATEGORIES,
    AGE_BUCKETS,
    DEVICES,
    PAGE_CATEGORIES,
    RECORD_FIELDS,
    ClickModel,
    ClickstreamBatch,
    age_bucket,
    bayes_auc,
    generate_clickstream,
    hour_partition,
    iter_chunks,
    roc_auc,
)

START = datetime(2026, 1, 1, tzinfo=UTC)
ISO_MS_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
PARTITION = re.compile(r"^year=\d{4}/month=\d{2}/day=\d{2}/hour=\d{2}$")


@pytest.fixture(scope="module")
def day() -> ClickstreamBatch:
    """A day of 100,000 impressions (read-only, so one batch serves every test)."""
    return generate_clickstream(100_000, start=START, seed=7)


def assert_same_batch(a: ClickstreamBatch, b: ClickstreamBatch) -> None:
    for f in dataclasses.fields(ClickstreamBatch):
        np.testing.assert_array_equal(getattr(a, f.name), getattr(b, f.name), err_msg=f.name)


def pairwise_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    positives = scores[labels == 1]
    negatives = scores[labels == 0]
    wins = (positives[:, None] > negatives[None, :]).sum()
    ties = (positives[:, None] == negatives[None, :]).sum()
    return float((wins + 0.5 * ties) / (positives.size * negatives.size))


# Determinism


def test_same_seed_gives_the_same_batch() -> None:
    first = generate_clickstream(5_000, start=START, seed=3)
    second = generate_clickstream(5_000, start=START, seed=3)
    assert_same_batch(first, second)


def test_different_seeds_give_different_batches() -> None:
    a = generate_clickstream(5_000, start=START, seed=1)
    b = generate_clickstream(5_000, start=START, seed=2)
    assert not np.array_equal(a.event_id, b.event_id)
    assert not np.array_equal(a.timestamp, b.timestamp)
    assert not np.array_equal(a.clicked, b.clicked)


# Columns


def test_columns_have_the_documented_dtypes_and_ranges(day: ClickstreamBatch) -> None:
    n = 100_000
    assert len(day) == n
    for f in dataclasses.fields(ClickstreamBatch):
        assert getattr(day, f.name).shape == (n,), f.name
    for name in ("event_id", "user_id", "device", "os", "page", "page_category", "ad_id"):
        assert getattr(day, name).dtype.kind == "U", name
    assert day.timestamp.dtype == np.dtype("datetime64[ms]")
    assert set(np.unique(day.device)) == set(DEVICES)
    assert set(np.unique(day.os)) <= {"android", "ios", "windows", "macos", "linux"}
    assert set(np.unique(day.page_category)) == set(PAGE_CATEGORIES)
    assert set(np.unique(day.ad_category)) <= set(AD_CATEGORIES)
    assert np.issubdtype(day.position.dtype, np.integer)
    assert set(np.unique(day.position)) == {1, 2, 3, 4}
    assert np.issubdtype(day.hour.dtype, np.integer)
    assert set(np.unique(day.hour)) == set(range(24))
    assert np.issubdtype(day.user_age.dtype, np.integer)
    assert day.user_age.min() >= 18
    assert day.user_age.max() <= 80
    assert day.dwell_seconds.dtype == np.float64
    assert (day.dwell_seconds >= 0).all()
    assert day.user_ctr_affinity.dtype == np.float64
    assert ((day.user_ctr_affinity >= 0) & (day.user_ctr_affinity < 1)).all()
    assert np.issubdtype(day.clicked.dtype, np.integer)
    assert set(np.unique(day.clicked)) == {0, 1}
    assert day.click_probability.dtype == np.float64
    assert ((day.click_probability > 0) & (day.click_probability < 1)).all()


def test_event_ids_are_unique_version_4_uuids(day: ClickstreamBatch) -> None:
    assert np.unique(day.event_id).size == len(day)
    for event_id in day.event_id[:100].tolist():
        parsed = uuid.UUID(event_id)
        assert str(parsed) == event_id
        assert parsed.version == 4


def test_page_and_ad_ids_look_like_ids(day: ClickstreamBatch) -> None:
    assert all(re.fullmatch(r"u-\d{4}", u) for u in day.user_id[:100].tolist())
    assert all(re.fullmatch(r"ad-\d{4}", a) for a in day.ad_id[:100].tolist())
    for page, category in zip(
        day.page[:100].tolist(), day.page_category[:100].tolist(), strict=True
    ):
        assert re.fullmatch(rf"/{category}/article-\d{{4}}", page)


def test_the_batch_is_read_only(day: ClickstreamBatch) -> None:
    with pytest.raises(ValueError, match="read-only"):
        day.clicked[0] = 1


# Structure


def test_timestamps_are_sorted_and_inside_the_window(day: ClickstreamBatch) -> None:
    end = START + timedelta(hours=24)
    assert (np.diff(day.timestamp.astype(np.int64)) >= 0).all()
    assert day.timestamp.min() >= np.datetime64(START.replace(tzinfo=None), "ms")
    assert day.timestamp.max() < np.datetime64(end.replace(tzinfo=None), "ms")


def test_window_edges_hold_for_an_odd_start_in_another_zone() -> None:
    # 09:30:00.0005 at +05:30 is 04:00:00.0005 UTC: no event may fall before it.
    start = datetime(2026, 3, 1, 9, 30, 0, 500, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    batch = generate_clickstream(20_000, start=start, hours=3, seed=4)
    first = batch.timestamp.min().astype("datetime64[us]").item().replace(tzinfo=UTC)
    last = batch.timestamp.max().astype("datetime64[us]").item().replace(tzinfo=UTC)
    assert first >= start
    assert last < start + timedelta(hours=3)


def test_hour_column_is_the_utc_hour_of_the_timestamp(day: ClickstreamBatch) -> None:
    expected = day.timestamp.astype("datetime64[h]").astype(np.int64) % 24
    np.testing.assert_array_equal(day.hour, expected)


def test_evening_traffic_exceeds_small_hours_traffic(day: ClickstreamBatch) -> None:
    per_hour = np.bincount(day.hour, minlength=24)
    assert per_hour[20] > 2 * per_hour[4]
    assert per_hour[18:22].sum() > per_hour[2:6].sum() * 2


def test_users_keep_their_attributes_and_some_are_heavy(day: ClickstreamBatch) -> None:
    users, first, inverse, counts = np.unique(
        day.user_id, return_index=True, return_inverse=True, return_counts=True
    )
    for column in (day.device, day.os, day.user_age, day.user_ctr_affinity):
        np.testing.assert_array_equal(column, column[first][inverse])
    # Zipf-like activity: the busiest 1% of users make far more than 1% of impressions.
    top = np.sort(counts)[::-1][: max(1, users.size // 100)]
    assert top.sum() > 0.10 * len(day)


def test_ads_and_pages_keep_one_category(day: ClickstreamBatch) -> None:
    for ids, categories in ((day.ad_id, day.ad_category), (day.page, day.page_category)):
        _, first, inverse = np.unique(ids, return_index=True, return_inverse=True)
        np.testing.assert_array_equal(categories, categories[first][inverse])


def test_generation_rejects_a_naive_start() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        generate_clickstream(10, start=datetime(2026, 1, 1))


def test_generation_rejects_an_empty_window() -> None:
    with pytest.raises(ValueError, match="hours"):
        generate_clickstream(10, start=START, hours=0)


def test_zero_events_give_an_empty_batch() -> None:
    batch = generate_clickstream(0, start=START)
    assert len(batch) == 0
    assert list(batch.to_records()) == []
    assert batch.partition_keys().shape == (0,)


# The click model


def test_overall_ctr_is_realistic(day: ClickstreamBatch) -> None:
    assert 0.02 < day.ctr < 0.08


def test_stored_probability_is_the_models_probability(day: ClickstreamBatch) -> None:
    np.testing.assert_allclose(ClickModel.default().probability(day), day.click_probability)
    np.testing.assert_allclose(
        ClickModel.default().logit(day),
        np.log(day.click_probability / (1 - day.click_probability)),
        rtol=1e-9,
    )


def test_realised_ctr_matches_mean_probability(day: ClickstreamBatch) -> None:
    expected = day.click_probability.mean()
    standard_error = np.sqrt(expected * (1 - expected) / len(day))
    assert abs(day.ctr - expected) < 5 * standard_error


def test_ctr_falls_with_ad_position_as_the_model_says(day: ClickstreamBatch) -> None:
    coefficients = ClickModel.default().position
    assert coefficients[1] > coefficients[2] > coefficients[3] > coefficients[4]
    ctr = [day.clicked[day.position == k].mean() for k in (1, 2, 3, 4)]
    assert ctr[0] > ctr[1] > ctr[2] > ctr[3]


def test_ctr_by_device_follows_the_models_coefficients(day: ClickstreamBatch) -> None:
    coefficients = ClickModel.default().device
    lowest = min(coefficients, key=coefficients.__getitem__)
    assert lowest == "desktop"
    ctr = {d: day.clicked[day.device == d].mean() for d in DEVICES}
    assert all(ctr[lowest] < ctr[other] for other in DEVICES if other != lowest)


def test_ctr_rises_with_user_affinity(day: ClickstreamBatch) -> None:
    keen = day.user_ctr_affinity > np.quantile(day.user_ctr_affinity, 0.75)
    shy = day.user_ctr_affinity < np.quantile(day.user_ctr_affinity, 0.25)
    assert day.clicked[keen].mean() > 2 * day.clicked[shy].mean()


def test_a_custom_model_drives_the_clicks() -> None:
    buried = dataclasses.replace(ClickModel.default(), position={1: 0.0, 2: 0.0, 3: 0.0, 4: -50.0})
    batch = generate_clickstream(20_000, start=START, seed=5, model=buried)
    assert batch.clicked[batch.position == 4].sum() == 0
    assert batch.clicked[batch.position == 1].sum() > 0


def test_a_model_without_a_category_names_it() -> None:
    partial = dataclasses.replace(ClickModel.default(), device={"mobile": 0.0, "desktop": 0.0})
    with pytest.raises(ValueError, match="device coefficient for 'tablet'"):
        generate_clickstream(5_000, start=START, model=partial)


def test_age_buckets_have_their_labels() -> None:
    labels = age_bucket(np.array([18, 24, 25, 34, 35, 44, 45, 54, 55, 64, 65, 80]))
    assert labels.tolist() == [b for b in AGE_BUCKETS for _ in (0, 1)]
    assert set(ClickModel.default().age) == set(AGE_BUCKETS)


# Records


def test_records_are_json_ready_with_the_documented_fields(day: ClickstreamBatch) -> None:
    records = list(day[:2_000].to_records())
    assert len(records) == 2_000
    for record, event_id in zip(records, day.event_id[:2_000].tolist(), strict=True):
        assert tuple(record) == RECORD_FIELDS
        assert json.loads(json.dumps(record)) == record
        assert record["event_id"] == event_id
        assert ISO_MS_Z.match(record["timestamp"])
        assert type(record["clicked"]) is int
        assert record["clicked"] in (0, 1)
        assert type(record["position"]) is int
        assert type(record["hour"]) is int
        assert type(record["user_age"]) is int
        assert type(record["dwell_seconds"]) is float
        assert type(record["click_probability"]) is float


def test_record_timestamps_are_the_batch_timestamps(day: ClickstreamBatch) -> None:
    part = day[:500]
    for record, ts in zip(part.to_records(), part.timestamp, strict=True):
        parsed = datetime.fromisoformat(record["timestamp"].replace("Z", "+00:00"))
        assert parsed.tzinfo is not None
        assert parsed.utcoffset() == timedelta(0)
        assert np.datetime64(parsed.replace(tzinfo=None), "ms") == ts
        assert record["hour"] == parsed.hour


def test_record_timestamp_format_keeps_milliseconds() -> None:
    batch = generate_clickstream(1, start=START)
    moment = np.array(["2026-01-01T00:00:00.123"], dtype="datetime64[ms]")
    one = dataclasses.replace(batch, timestamp=moment)
    assert next(one.to_records())["timestamp"] == "2026-01-01T00:00:00.123Z"


# Partitions and chunks


def test_partition_keys_match_the_timestamps() -> None:
    # Across midnight and a month end, so every field of the path changes.
    start = datetime(2025, 12, 31, 22, tzinfo=UTC)
    batch = generate_clickstream(5_000, start=start, hours=4, seed=9)
    keys = batch.partition_keys()
    assert keys.shape == (len(batch),)
    for key, ts in zip(keys.tolist(), batch.timestamp, strict=True):
        moment = ts.astype("datetime64[us]").item().replace(tzinfo=UTC)
        assert key == hour_partition(moment)
    assert set(keys.tolist()) == {
        "year=2025/month=12/day=31/hour=22",
        "year=2025/month=12/day=31/hour=23",
        "year=2026/month=01/day=01/hour=00",
        "year=2026/month=01/day=01/hour=01",
    }


def _utc_fields(ts: datetime) -> tuple[int, int, int, int]:
    """Year, month, day and hour in UTC by whole-second arithmetic from the epoch."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    seconds = (ts - epoch) // timedelta(seconds=1)
    days, second_of_day = divmod(seconds, 86_400)
    civil = date.fromordinal(date(1970, 1, 1).toordinal() + days)
    return civil.year, civil.month, civil.day, second_of_day // 3_600


_zones = st.one_of(
    st.timezones(),
    st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59).map(
        lambda minutes: timezone(timedelta(minutes=minutes))
    ),
)


@settings(deadline=None)
@given(
    st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(2200, 12, 30), timezones=_zones)
)
def test_hour_partition_is_the_zero_padded_utc_hour(ts: datetime) -> None:
    path = hour_partition(ts)
    assert PARTITION.match(path)
    year, month, day, hour = _utc_fields(ts)
    assert path == f"year={year:04d}/month={month:02d}/day={day:02d}/hour={hour:02d}"


def test_hour_partition_reads_datetime64_as_utc() -> None:
    ts = np.datetime64("2026-07-04T09:59:59.999", "ms")
    assert hour_partition(ts) == "year=2026/month=07/day=04/hour=09"


def test_hour_partition_rejects_a_naive_datetime() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        hour_partition(datetime(2026, 1, 1))


def test_chunks_cover_the_batch_in_order(day: ClickstreamBatch) -> None:
    part = day[:10_001]
    chunks = list(iter_chunks(part, 1_000))
    assert [len(c) for c in chunks] == [1_000] * 10 + [1]
    rejoined = ClickstreamBatch(
        **{
            f.name: np.concatenate([getattr(c, f.name) for c in chunks])
            for f in dataclasses.fields(ClickstreamBatch)
        }
    )
    assert_same_batch(rejoined, part)


def test_chunk_size_must_be_positive(day: ClickstreamBatch) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        next(iter_chunks(day, 0))


def test_a_batch_refuses_columns_of_different_lengths(day: ClickstreamBatch) -> None:
    with pytest.raises(ValueError, match="one length"):
        dataclasses.replace(day, clicked=day.clicked[:-1])


# AUC


def test_bayes_auc_shows_a_learnable_signal(day: ClickstreamBatch) -> None:
    assert 0.6 < bayes_auc(day) < 0.95


def test_bayes_auc_equals_the_pairwise_auc_on_a_small_batch() -> None:
    batch = generate_clickstream(2_000, start=START, seed=11)
    assert batch.clicked.sum() > 10
    expected = pairwise_auc(batch.clicked, batch.click_probability)
    assert bayes_auc(batch) == pytest.approx(expected, abs=1e-12)


def test_roc_auc_counts_ties_as_half() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, size=300)
    scores = rng.integers(0, 5, size=300).astype(np.float64)  # many ties
    assert roc_auc(labels, scores) == pytest.approx(pairwise_auc(labels, scores), abs=1e-12)
    assert roc_auc([0, 1], [0.5, 0.5]) == 0.5
    assert roc_auc([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4]) == 1.0


def test_roc_auc_needs_both_classes() -> None:
    with pytest.raises(ValueError, match="one positive and one negative"):
        roc_auc([1, 1, 1], [0.1, 0.2, 0.3])
