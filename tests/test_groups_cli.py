"""`python -m analysis groups` on the R toy sample in the data contract: JSON against R survey 4.1-1, Chinese errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from analysis.cli.main import main

FIXTURES = Path(__file__).parent / "fixtures"
WAVE = "2026年第3季度"
BY = {"urban_rural": "城乡", "sex": "性别", "age_group": "年龄段"}
# The margins R raked to, as an analyst writes them (bare Chinese keys) and as strict TOML 1.0 (quoted keys).
MARGINS_BARE = "[城乡]\n城镇 = 0.42\n农村 = 0.58\n\n[性别]\n男 = 0.5\n女 = 0.5\n\n[年龄段]\n18-39岁 = 0.35\n40-59岁 = 0.40\n60岁及以上 = 0.25\n"
MARGINS_QUOTED = ('["城乡"]\n"城镇" = 0.42\n"农村" = 0.58\n["性别"]\n"男" = 0.5\n"女" = 0.5\n'
                  '["年龄段"]\n"18-39岁" = 0.35\n"40-59岁" = 0.40\n"60岁及以上" = 0.25\n')


def contract_csv(toy: pd.DataFrame, county: str = "玩具县", wave: str = WAVE) -> pd.DataFrame:
    """The R toy (English columns, `answer`) rewritten with the data contract's Chinese headers."""
    return pd.DataFrame({"受访者编号": toy["respondent_id"], "测评批次": wave, "县区": county, "总体满意度": toy["answer"],
                         "权重": toy["weight"], "城乡": toy["urban_rural"], "性别": toy["sex"], "年龄段": toy["age_group"]})


@pytest.fixture(scope="module")
def raw_toy() -> pd.DataFrame:
    return pd.read_csv(FIXTURES / "groups_toy.csv")


@pytest.fixture(scope="module")
def toy_file(tmp_path_factory, raw_toy) -> Path:
    path = tmp_path_factory.mktemp("groups") / "toy.csv"
    contract_csv(raw_toy).to_csv(path, index=False, encoding="utf-8-sig")
    return path


@pytest.fixture(scope="module")
def margins_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("margins") / "margins.toml"
    path.write_text(MARGINS_BARE, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def expected() -> dict[str, dict]:
    frame = pd.read_csv(FIXTURES / "groups_toy_expected_R.csv")
    return {row["what"]: row for row in frame.to_dict("records")}


def _run(capsys, *argv) -> tuple[int, str, str]:
    code = main(["groups", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("column", list(BY))
def test_json_equals_r_without_margins(capsys, toy_file, raw_toy, expected, column) -> None:
    code, out, err = _run(capsys, str(toy_file), "--by", BY[column], "--json")
    assert code == 0 and err == ""
    doc = json.loads(out)
    assert set(doc) == {"by", "raked", "n", "overall", "levels", "rao_scott", "first_order", "raked_weights_first"}
    assert doc["by"] == BY[column] and doc["raked"] is False and doc["n"] == 240
    assert (doc["overall"]["mean"], doc["overall"]["se"]) == pytest.approx(
        (expected["unraked_mean"]["a"], expected["unraked_mean"]["b"]), abs=1e-6)
    levels = {lv["level"]: lv for lv in doc["levels"]}
    r_levels = {k.removeprefix(f"mean_{column}_"): v for k, v in expected.items() if k.startswith(f"mean_{column}_")}
    assert set(levels) == set(r_levels)
    for level, r in r_levels.items():
        assert (levels[level]["mean"], levels[level]["se"]) == pytest.approx((r["a"], r["b"]), abs=1e-6)
        assert levels[level]["n"] == int((raw_toy[column] == level).sum())
    f, first = expected[f"chisq_F_{column}"], expected[f"chisq_1st_{column}"]
    rs = doc["rao_scott"]
    assert (rs["f"], rs["df1"], rs["df2"]) == pytest.approx((f["a"], f["b"], f["c"]), abs=1e-6)
    assert rs["p"] == pytest.approx(f["p"], abs=1e-4)
    assert doc["first_order"]["chisq"] == pytest.approx(first["a"], abs=1e-6)
    assert doc["first_order"]["df"] == first["b"]
    assert doc["first_order"]["p"] == pytest.approx(first["p"], abs=1e-4)
    # Not raked: the file's own weights of the first three respondents.
    assert doc["raked_weights_first"] == pytest.approx(raw_toy["weight"].head(3).tolist(), abs=1e-12)


@pytest.mark.parametrize("text", [MARGINS_BARE, MARGINS_QUOTED], ids=["bare-keys", "quoted-keys"])
def test_json_equals_r_rake_with_margins(capsys, tmp_path, toy_file, expected, text) -> None:
    margins = tmp_path / "margins.toml"
    margins.write_text(text, encoding="utf-8")
    code, out, err = _run(capsys, str(toy_file), "--by", "城乡", "--margins", str(margins), "--json")
    assert code == 0 and "迭代加权" in err
    doc = json.loads(out)
    assert doc["raked"] is True and doc["n"] == 240
    assert (doc["overall"]["mean"], doc["overall"]["se"]) == pytest.approx(
        (expected["raked_mean"]["a"], expected["raked_mean"]["b"]), abs=1e-6)
    first3 = expected["raked_weight_first3"]
    assert doc["raked_weights_first"] == pytest.approx([first3["a"], first3["b"], first3["c"]], abs=1e-6)
    # Raked to 城乡 0.42/0.58 of 240 people: the raked level means differ from the unraked ones only through the weights,
    # and the level sizes stay the respondent counts.
    assert sum(lv["n"] for lv in doc["levels"]) == 240


def test_county_and_wave_select_the_toy_among_other_rows(capsys, tmp_path, raw_toy, margins_file, expected) -> None:
    # The toy as 玩具县 in one wave, plus the same people (shuffled answers) as another county and another wave.
    other = raw_toy.assign(answer=raw_toy["answer"].sample(frac=1, random_state=3).to_numpy())
    frame = pd.concat([contract_csv(other, county="别的县"), contract_csv(raw_toy),
                       contract_csv(other, wave="2026年第2季度")], ignore_index=True)
    frame["受访者编号"] = [f"X{k:04d}" for k in range(len(frame))]
    path = tmp_path / "three.csv"
    frame.to_csv(path, index=False, encoding="utf-8-sig")
    code, out, _ = _run(capsys, str(path), "--by", "城乡", "--county", "玩具县", "--wave", WAVE, "--margins", str(margins_file), "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["n"] == 240  # the totals are scaled to the respondents in scope, not the file
    assert (doc["overall"]["mean"], doc["overall"]["se"]) == pytest.approx(
        (expected["raked_mean"]["a"], expected["raked_mean"]["b"]), abs=1e-6)
    first3 = expected["raked_weight_first3"]
    assert doc["raked_weights_first"] == pytest.approx([first3["a"], first3["b"], first3["c"]], abs=1e-6)
    # Default scope: every county and wave in the file.
    code, out, _ = _run(capsys, str(path), "--by", "城乡", "--json")
    assert code == 0 and json.loads(out)["n"] == 720


def test_plain_text_output(capsys, toy_file, margins_file) -> None:
    code, out, _ = _run(capsys, str(toy_file), "--by", "性别", "--margins", str(margins_file))
    assert code == 0
    assert "按性别分组 · 240 名受访者 · 按总体比例（城乡、性别、年龄段）迭代加权" in out
    assert "全部：得分 71.52，标准误 1.97" in out and "Rao–Scott" in out


@pytest.mark.parametrize(("argv", "margins", "message"), [
    (["--by", "省份"], None, "--by “省份”不是可分组的列"),
    (["--by", "城乡", "--county", "云西县"], None, "文件中没有县区“云西县”，可选：玩具县"),
    (["--by", "城乡", "--wave", "2030年第1季度"], None, "没有测评批次“2030年第1季度”"),
    (["--by", "受访者类型"], None, "文件中没有“受访者类型”的答案"),
    (["--by", "城乡"], "[城乡]\n城镇 = 0.5\n农村 = 0.3\n", "合计为 0.8000"),
    (["--by", "城乡"], "[性别]\n男 = 1.0\n", "第 1 位受访者（编号 R0000）的“性别”为“女”"),
    (["--by", "城乡"], "[城乡]\n城镇 = 一半\n", "格式有误"),
    (["--by", "城乡"], "[城乡]\n城镇 = -0.1\n农村 = 1.1\n", "必须是非负数"),
    (["--by", "城乡"], "城乡 = 0.42\n", "必须是表"),
    (["--by", "城乡"], "", "没有任何比例"),
])
def test_bad_input_exits_non_zero_in_chinese(capsys, tmp_path, toy_file, argv, margins, message) -> None:
    extra = []
    if margins is not None:
        (tmp_path / "m.toml").write_text(margins, encoding="utf-8")
        extra = ["--margins", str(tmp_path / "m.toml")]
    code, out, err = _run(capsys, str(toy_file), *argv, *extra)
    assert code == 1 and out == ""
    assert err.startswith("错误：") and message in err


def test_bad_files_exit_non_zero_in_chinese(capsys, tmp_path, raw_toy) -> None:
    code, out, err = _run(capsys, str(tmp_path / "没有.csv"), "--by", "城乡")
    assert code == 1 and out == "" and "找不到文件" in err
    code, out, err = _run(capsys, str(FIXTURES / "groups_toy.csv"), "--by", "城乡", "--margins", str(tmp_path / "无.toml"))
    assert code == 1 and "找不到总体比例文件" in err
    bad = contract_csv(raw_toy)
    bad.loc[4, "总体满意度"] = "还行"
    path = tmp_path / "bad.csv"
    bad.to_csv(path, index=False, encoding="utf-8-sig")
    code, out, err = _run(capsys, str(path), "--by", "城乡")
    # The row an analyst sees in Excel: header on row 1, so the fifth respondent is row 6.
    assert code == 1 and out == "" and "第 6 行" in err and "总体满意度" in err
