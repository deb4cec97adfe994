"""The mock generator is deterministic and tells the story of the brief."""

import filecmp

import pandas as pd
import pytest

from analysis.data.mock import WAVES, write_mock
from analysis.survey.scoring import county_scores
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def mock_frames():
    return {k: pd.read_csv(ROOT / "data" / "mock" / f"{k}.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
            for k in ("responses", "published", "preschool", "compulsory", "classes")}


def test_same_seed_gives_identical_files(tmp_path, settings):
    first = write_mock(settings, tmp_path / "a", seed=2026)
    second = write_mock(settings, tmp_path / "b", seed=2026)
    for key in first:
        assert filecmp.cmp(first[key], second[key], shallow=False), key


def test_bundled_files_are_what_the_generator_writes(tmp_path, settings):
    fresh = write_mock(settings, tmp_path, seed=2026)
    for key, path in fresh.items():
        assert filecmp.cmp(path, ROOT / "data" / "mock" / f"{key}.csv", shallow=False), f"data/mock/{key}.csv is stale: run make mock"


def test_files_have_bom_and_contract_headers(mock_frames):
    raw = (ROOT / "data" / "mock" / "responses.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert {"受访者编号", "测评批次", "县区", "总体满意度", "权重", "乡镇（街道）", "联系电话", "意见建议", "有偿补课治理"} <= set(mock_frames["responses"].columns)
    assert set(mock_frames["classes"].columns) == {"年度", "学校", "乡镇（街道）", "学段", "年级", "班级", "学生数"}


def test_sample_sizes_and_unknown_share(mock_frames, settings):
    r = mock_frames["responses"]
    assert r["测评批次"].nunique() >= 6 and r["县区"].nunique() == 11
    sizes = r.groupby(["测评批次", "县区"]).size()
    assert sizes.between(300, 900).all()
    unknown = r[list(settings.items)].isin(["不了解", "说不清"]).to_numpy().mean()
    assert 0.03 <= unknown <= 0.08
    assert r["联系电话"].str.contains(r"\*\*\*\*").all()


@pytest.fixture(scope="module")
def english(mock_frames, settings):
    from analysis.data.contract import responses_kind
    kind = responses_kind(settings.items)
    return mock_frames["responses"].rename(columns={c.header: c.name for c in kind.columns}).assign(
        weight=lambda f: f["weight"].astype(float))


def test_home_sits_near_fifth_to_sixth_with_close_neighbours(english, settings):
    latest = county_scores(english[english["wave"] == WAVES[-1]], settings.points).set_index("county")
    home = latest.loc[settings.home_county]
    assert home["rank"] in (5, 6, 7)
    neighbours = latest[(latest["rank"] - home["rank"]).abs() == 1]["score"]
    assert ((neighbours - home["score"]).abs() < 1.5).all()


def test_home_improves_over_the_waves(english, settings):
    scores = county_scores(english[english["county"] == settings.home_county], settings.points)
    assert scores["score"].iloc[-1] > scores["score"].iloc[0]


def test_rural_and_crowded_townships_score_lower(english, settings):
    home = english[english["county"] == settings.home_county].assign(points=lambda f: f["overall"].map(settings.points))
    by_area = home.groupby("urban_rural")["points"].mean()
    assert by_area["农村"] < by_area["城镇"]
    town = home.groupby("township")["points"].mean()
    # Among rural townships, crowded 东坝镇 against the three with no large classes.
    assert town["东坝镇"] < town[["青龙乡", "柳河乡", "桂花乡"]].mean()


def test_items_correlate_with_overall(english, settings):
    pts = english[["overall", *settings.items]].apply(lambda c: c.map(settings.points))
    corr = pts.corr()["overall"].drop("overall")
    assert (corr > 0.3).all()


def test_published_home_is_fifth_in_latest_wave(mock_frames, settings):
    p = mock_frames["published"]
    latest = p[(p["测评批次"] == WAVES[-1]) & (p["县区"] == settings.home_county)]
    assert latest["名次"].tolist() == ["5"]
