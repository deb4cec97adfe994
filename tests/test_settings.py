"""A bad settings file gives a clear error naming the key."""

import tomllib

import pytest

from analysis.settings import SettingsError, load_settings, parse_settings
from tests.conftest import ROOT


def raw_settings():
    return tomllib.loads((ROOT / "settings.toml").read_text(encoding="utf-8"))


def test_repo_settings_load_and_agree_with_themselves(settings):
    # What the code relies on, whatever a bureau configures: checked here so a reconfigured file still passes.
    assert settings.home_county in settings.counties and len(set(settings.counties)) == len(settings.counties)
    assert 1 <= settings.strive <= settings.hold <= len(settings.counties)
    assert "满意" in settings.points and not set(settings.excluded) & set(settings.points)
    assert settings.items and len(set(settings.items)) == len(settings.items)


def test_the_file_is_what_load_settings_reads():
    raw = raw_settings()
    parsed = parse_settings(raw)
    assert parsed.counties == tuple(raw["city"]["counties"]) and parsed.home_county == raw["city"]["home_county"]
    assert (parsed.hold, parsed.strive) == (raw["targets"]["hold"], raw["targets"]["strive"])


@pytest.mark.parametrize("path, value, key", [
    (("targets", "hold"), 0, "targets.hold"),
    (("targets", "hold"), "六", "targets.hold"),
    (("targets", "strive"), 8, "targets.strive"),
    (("city", "home_county"), "不存在县", "city.home_county"),
    (("city", "counties"), ["A"], "city.counties"),
    (("scoring", "points"), {"满意": 100, "一般": "高"}, "scoring.points.一般"),
    (("statistics", "coverage"), 95, "statistics.coverage"),
    (("thresholds", "inclusive_coverage_min"), 80, "thresholds.inclusive_coverage_min"),
    (("thresholds", "class_cap_primary"), -45, "thresholds.class_cap_primary"),
    # The 超大班额 line must lie above the 大班额 line (the class-size bands run from one to the other).
    (("thresholds", "very_large_class_min"), 56, "thresholds.very_large_class_min"),
    (("thresholds", "very_large_class_min"), 40, "thresholds.very_large_class_min"),
    (("survey", "items"), [], "survey.items"),
])
def test_bad_value_names_the_key(path, value, key):
    raw = raw_settings()
    raw[path[0]][path[1]] = value
    with pytest.raises(SettingsError, match=key.replace(".", r"\.")):
        parse_settings(raw)


def test_missing_key_is_named():
    raw = raw_settings()
    del raw["targets"]["strive"]
    with pytest.raises(SettingsError, match=r"targets\.strive"):
        parse_settings(raw)


def test_unknown_threshold_is_named():
    raw = raw_settings()
    raw["thresholds"]["large_class_mim"] = 56
    with pytest.raises(SettingsError, match=r"thresholds\.large_class_mim"):
        parse_settings(raw)


def test_broken_toml_and_missing_file(tmp_path):
    bad = tmp_path / "s.toml"
    bad.write_text("[city\nname = 1", encoding="utf-8")
    with pytest.raises(SettingsError, match="格式错误"):
        load_settings(bad)
    with pytest.raises(SettingsError, match="找不到设置文件"):
        load_settings(tmp_path / "none.toml")


def test_home_county_switch(settings):
    assert settings.with_home("临江区").home_county == "临江区"
    with pytest.raises(SettingsError):
        settings.with_home("火星县")
