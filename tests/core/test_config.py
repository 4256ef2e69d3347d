"""FogbankConfig: defaults, sources in order, strict parsing."""

from __future__ import annotations

from pathlib import Path

import pytest

from fogbank.core.config import FogbankConfig, parse_bool
from fogbank.core.errors import InvalidConfiguration


def test_defaults_put_home_under_user_and_store_inside_home(tmp_path: Path) -> None:
    config = FogbankConfig.load(environ={"HOME": str(tmp_path)}, home=tmp_path / "h")
    assert config.home == tmp_path / "h"
    assert config.account_id == "000000000000"
    assert config.region == "us-east-1"
    assert config.limits is True
    assert config.store_url == f"sqlite:///{tmp_path / 'h' / 'control-plane.sqlite'}"
    assert config.lake_root == tmp_path / "h" / "lake"


def test_default_home_is_dot_fogbank_when_nothing_says_otherwise() -> None:
    config = FogbankConfig.load(environ={})
    assert config.home == Path("~/.fogbank").expanduser().absolute()


def test_environment_sets_home_and_settings(tmp_path: Path) -> None:
    env = {
        "FOGBANK_HOME": str(tmp_path),
        "FOGBANK_REGION": "eu-west-1",
        "FOGBANK_ACCOUNT_ID": "123456789012",
        "FOGBANK_LIMITS": "0",
        "FOGBANK_CONTROL_PLANE_URL": "postgresql+psycopg://u@127.0.0.1/db",
    }
    config = FogbankConfig.load(environ=env)
    assert config.home == tmp_path
    assert config.region == "eu-west-1"
    assert config.account_id == "123456789012"
    assert config.limits is False
    assert config.store_url == "postgresql+psycopg://u@127.0.0.1/db"


def test_explicit_arguments_beat_environment_which_beats_config_file(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('region = "ap-south-1"\nlimits = false\n')
    config = FogbankConfig.load(home=tmp_path, environ={"FOGBANK_REGION": "eu-central-1"})
    assert config.region == "eu-central-1"
    assert config.limits is False
    config = FogbankConfig.load(
        home=tmp_path, environ={"FOGBANK_REGION": "eu-central-1"}, region="us-west-2"
    )
    assert config.region == "us-west-2"


@pytest.mark.parametrize("text", ["true", "TRUE", "1", "True", " true "])
def test_parse_bool_accepts_true_spellings(text: str) -> None:
    assert parse_bool(text, name="limits") is True


@pytest.mark.parametrize("text", ["false", "0", "False"])
def test_parse_bool_accepts_false_spellings(text: str) -> None:
    assert parse_bool(text, name="limits") is False


@pytest.mark.parametrize("text", ["yes", "no", "on", "off", "", "2", "t", None, 1])
def test_parse_bool_refuses_everything_else_naming_the_setting(text: object) -> None:
    with pytest.raises(InvalidConfiguration, match="limits must be true, false, 1 or 0"):
        parse_bool(text, name="limits")


def test_bad_boolean_in_environment_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidConfiguration, match="limits"):
        FogbankConfig.load(home=tmp_path, environ={"FOGBANK_LIMITS": "yes"})


def test_bad_account_and_region_are_refused_with_an_example(tmp_path: Path) -> None:
    with pytest.raises(InvalidConfiguration, match="12 digits"):
        FogbankConfig.load(home=tmp_path, environ={"FOGBANK_ACCOUNT_ID": "42"})
    with pytest.raises(InvalidConfiguration, match="us-east-1"):
        FogbankConfig.load(home=tmp_path, environ={"FOGBANK_REGION": "Mars"})


def test_unknown_setting_in_config_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('regoin = "us-east-1"\n')
    with pytest.raises(InvalidConfiguration, match="unknown setting 'regoin'"):
        FogbankConfig.load(home=tmp_path, environ={})


def test_invalid_toml_is_refused_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("region = \n")
    with pytest.raises(InvalidConfiguration, match=r"config\.toml is not valid TOML"):
        FogbankConfig.load(home=tmp_path, environ={})


def test_wrong_type_in_config_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("region = 5\n")
    with pytest.raises(InvalidConfiguration, match="region must be a non-empty string"):
        FogbankConfig.load(home=tmp_path, environ={})


def test_loading_reads_nothing_at_import_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FOGBANK_HOME", str(tmp_path / "first"))
    first = FogbankConfig.load()
    monkeypatch.setenv("FOGBANK_HOME", str(tmp_path / "second"))
    second = FogbankConfig.load()
    assert (first.home.name, second.home.name) == ("first", "second")


def test_status_delay_is_read_as_seconds_and_checked(tmp_path: Path) -> None:
    config = FogbankConfig.load(home=tmp_path, environ={"FOGBANK_STATUS_DELAY": "2.5"})
    assert config.status_delay == 2.5
    (tmp_path / "config.toml").write_text("status_delay = 1\n")
    assert FogbankConfig.load(home=tmp_path, environ={}).status_delay == 1.0
    with pytest.raises(InvalidConfiguration, match="status_delay must be a number of seconds"):
        FogbankConfig.load(home=tmp_path, environ={"FOGBANK_STATUS_DELAY": "soon"})
    with pytest.raises(InvalidConfiguration, match="from 0 to 3600"):
        FogbankConfig.load(home=tmp_path, environ={"FOGBANK_STATUS_DELAY": "-1"})


def test_status_delay_keeps_a_new_stream_creating(tmp_path: Path) -> None:
    """CreateStream: CREATING for status_delay seconds, then ACTIVE."""
    from fogbank import Fogbank
    from fogbank.core.clock import ManualClock

    clock = ManualClock()
    config = FogbankConfig.load(home=tmp_path, environ={}, status_delay=30)
    with Fogbank(config, clock=clock) as fb:
        fb.streams.create_stream("s", 1)
        assert fb.streams.describe_stream_summary("s").summary.status == "CREATING"
        clock.advance(30)
        assert fb.streams.describe_stream_summary("s").summary.status == "ACTIVE"
