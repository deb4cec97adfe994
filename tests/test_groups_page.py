"""群体与乡镇 with raking switched on: the page rakes the home county's wave in memory and reports it (AppTest)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analysis.data import store
from analysis.data.importing import import_path
from analysis.settings import load_settings
from analysis.stats.weighting import parse_raking
from ui import data, state
from ui.caching import clear_views

ROOT = Path(__file__).resolve().parents[1]
AGES = {"18-29岁": 0.2, "30-39岁": 0.25, "40-49岁": 0.25, "50-59岁": 0.15, "60岁及以上": 0.15}


@pytest.fixture(scope="module")
def survey_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("groups_raking") / "app.db"
    import_path(ROOT / "data" / "mock" / "responses.csv", "responses", load_settings(ROOT / "settings.toml"),
                store.connect(path), user="测试")
    return path


def run_groups(db: Path, monkeypatch, raking: dict) -> AppTest:
    monkeypatch.setenv(store.DB_ENV, str(db))
    monkeypatch.setattr(data, "raking_settings", lambda: parse_raking({"raking": raking}))
    clear_views()  # the raked county scores are cached too
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    at.switch_page("app_pages/groups.py")
    at.session_state[state.GROUPS_TAB] = "分组明细"
    at.run()
    assert not at.exception, at.exception
    return at


def captions(at: AppTest) -> str:
    return "\n".join(c.value for c in at.caption)


def test_raked_page_reports_convergence_and_design_effect(survey_db, monkeypatch) -> None:
    margins = {"城乡": {"城镇": 0.45, "农村": 0.55}, "性别": {"男": 0.5, "女": 0.5}, "年龄段": AGES}
    at = run_groups(survey_db, monkeypatch, {"enabled": True, "trim_ratio": 3, "margins": {"云溪县": margins}})
    text = captions(at)
    assert "迭代加权（raking）" in text and "城乡、性别、年龄段" in text and "最大边际误差" in text
    assert "截尾上限为平均权重的 3 倍" in text and "有效样本量（Kish）" in text
    assert "未写入数据库" in text
    # The detail table's 城乡 rows are the raked ones: the weighted 城镇 share is 45% of the design by construction,
    # so the two scores differ from the file-weighted run below.
    raked = at.dataframe[0].value.set_index(["维度", "群体"]).loc[("城乡", "城镇"), "得分"]
    plain = run_groups(survey_db, monkeypatch, {"enabled": False}).dataframe[0].value.set_index(["维度", "群体"]).loc[("城乡", "城镇"), "得分"]
    assert raked != pytest.approx(plain, abs=1e-9)


def test_margins_that_do_not_fit_the_data_fall_back_with_the_reason(survey_db, monkeypatch) -> None:
    at = run_groups(survey_db, monkeypatch, {"enabled": True, "margins": {"云溪县": {"年龄段": {"18-39岁": 0.5, "40岁及以上": 0.5}}}})
    text = captions(at)
    assert "未能按总体比例加权" in text and "年龄段" in text and "不在给定的总体比例中" in text
