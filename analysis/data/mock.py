"""Deterministic mock data for a fictional city: survey waves, published results, enrollment and classes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from analysis.data.contract import (CLASSES, COMPULSORY, GRADES, HOME_VISITS, LEDGER, PETITIONS, PRESCHOOL,
                                    published_kind, responses_kind)
from analysis.settings import Settings

WAVES = ("2025年第2季度", "2025年第3季度", "2025年第4季度", "2026年第1季度", "2026年第2季度", "2026年第3季度")
SCHOOL_YEARS = ("2023-2024学年", "2024-2025学年", "2025-2026学年")

# Ordered-probit cut points on the latent attitude: 不满意 | 不太满意 | 一般 | 比较满意 | 满意.
CUTS = np.array([-2.3, -1.6, -0.7, 0.35])
ANSWER_ORDER = np.array(["不满意", "不太满意", "一般", "比较满意", "满意"])
LATENT_SD = 1.25
GENERAL_LOAD = 0.85   # shared attitude behind every answer, so items correlate with the overall answer
ITEM_NOISE = 0.75
DRIVE_SCALE = 3.0
OVERALL_NOISE = 0.55

# Expected county scores in the first and last wave (points); the home county climbs from 7th to about 5th.
SCORE_PATH = {
    "临江区": (90.2, 90.6), "东湖区": (88.9, 89.3), "西山区": (87.6, 87.9), "北塘区": (86.4, 86.2),
    "南岭县": (85.9, 85.4), "青石县": (85.6, 85.1), "云溪县": (84.6, 85.6), "白河县": (84.9, 84.7),
    "丰水县": (83.2, 83.5), "明山县": (81.8, 82.3), "桃源县": (80.1, 80.6),
}

# Home-county townships: (name, urban, share of residents, large-class pressure 0–1).
HOME_TOWNSHIPS = (
    ("城关镇", True, 0.20, 0.9), ("云溪街道", True, 0.16, 0.7), ("东坝镇", False, 0.11, 0.5),
    ("石桥镇", False, 0.09, 0.1), ("青龙乡", False, 0.07, 0.0), ("马鞍镇", False, 0.08, 0.2),
    ("柳河乡", False, 0.06, 0.0), ("白沙镇", False, 0.09, 0.3), ("龙潭镇", False, 0.08, 0.1),
    ("桂花乡", False, 0.06, 0.0),
)
OTHER_TOWNSHIP_SUFFIXES = ("城关街道", "东城街道", "西郊镇", "北山镇", "南河乡", "新华镇")

# Item offsets (latent units) for the home county; the bureau's suspects are the weak ones.
HOME_ITEM_OFFSET = {
    "办学条件": 0.25, "师德师风": 0.15, "有偿补课治理": -0.55, "课业负担": -0.30, "课后服务": -0.35,
    "入园难入园贵": -0.45, "大班额治理": -0.40, "校园安全": 0.35, "教育收费": 0.10, "教育公平": -0.05,
}
# How strongly each item drives the overall answer (the drivers page should rediscover this order).
ITEM_DRIVE = {
    "办学条件": 0.06, "师德师风": 0.16, "有偿补课治理": 0.20, "课业负担": 0.12, "课后服务": 0.08,
    "入园难入园贵": 0.10, "大班额治理": 0.12, "校园安全": 0.05, "教育收费": 0.04, "教育公平": 0.07,
}
COMMENTS = {
    "有偿补课治理": ["有的老师还在暗地里搞有偿补课，希望严查", "周末补课班太多，孩子没有休息"],
    "大班额治理": ["班里学生人数多，老师顾不过来", "城关小学大班额问题严重，教室太拥挤"],
    "入园难入园贵": ["公办幼儿园太少，入园难", "民办幼儿园保教费太贵"],
    "课后服务": ["希望延长课后托管时间", "课后服务内容单一，放学太早接不了"],
    "课业负担": ["作业太多，孩子写到很晚", "考试排名压力大"],
    "师德师风": ["个别老师态度不好", "希望加强师德建设"],
    "教育公平": ["农村学校和城里差距大", "希望划片招生更公平"],
    "校园安全": ["上下学路口交通安全要加强", "希望学校防欺凌多做工作"],
    "办学条件": ["农村学校食堂和宿舍条件差", "操场设施老旧"],
    "教育收费": ["资料费收得不明不白", "希望收费更透明"],
}


def expected_points(mu: np.ndarray, points: np.ndarray, sd: float = LATENT_SD) -> np.ndarray:
    """Expected score of an ordered-probit answer with latent mean mu."""
    cdf = stats.norm.cdf((CUTS[None, :] - np.asarray(mu)[:, None]) / sd)
    probs = np.diff(np.column_stack([np.zeros(len(cdf)), cdf, np.ones(len(cdf))]), axis=1)
    return probs @ points


def latent_shift_for(scores: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Latent mean whose expected score is each target score (inverted on a fine grid)."""
    grid = np.linspace(-3, 4, 7001)
    return np.interp(scores, expected_points(grid, points), grid)


def _spread_sd(items: tuple[str, ...]) -> float:
    """Theoretical sd of the respondent part of the overall latent."""
    drive_var = sum(ITEM_DRIVE.get(i, 0.05) ** 2 for i in items) * ITEM_NOISE**2 * DRIVE_SCALE**2
    return float(np.sqrt(GENERAL_LOAD**2 + drive_var + OVERALL_NOISE**2))


def answers_from_latent(z: np.ndarray) -> np.ndarray:
    """Ordered-probit answer labels for latent values."""
    return ANSWER_ORDER[np.searchsorted(CUTS, z)]


def county_townships(county: str, home: str) -> list[tuple[str, bool, float, float]]:
    """Townships with (urban, share, large-class pressure) for any county."""
    if county == home:
        return list(HOME_TOWNSHIPS)
    shares = np.array([0.24, 0.2, 0.16, 0.15, 0.13, 0.12])
    return [(county[:2] + suffix, i < 2, float(s), 0.3 if i == 0 else 0.0) for i, (suffix, s) in enumerate(zip(OTHER_TOWNSHIP_SUFFIXES, shares))]


def wave_responses(rng: np.random.Generator, settings: Settings, wave_index: int) -> pd.DataFrame:
    """One wave of survey responses for every county."""
    points = np.array([settings.points.get(a, 0.0) for a in ANSWER_ORDER])
    frac = wave_index / (len(WAVES) - 1)
    frames = []
    for c_index, county in enumerate(settings.counties):
        start, end = SCORE_PATH.get(county, (84.0 - c_index * 0.5, 84.0 - c_index * 0.5))
        target = start + (end - start) * frac
        shift = latent_shift_for(np.array([target]), points)[0]
        n = int(rng.integers(320, 880))
        towns = county_townships(county, settings.home_county)
        t_names = np.array([t[0] for t in towns])
        t_urban = np.array([t[1] for t in towns])
        t_share = np.array([t[2] for t in towns])
        t_crowd = np.array([t[3] for t in towns])
        # Sample over-represents urban residents (~50%) against the 4:6 population; weights correct it.
        sample_p = t_share * np.where(t_urban, 0.5 / t_share[t_urban].sum(), 0.5 / t_share[~t_urban].sum())
        town = rng.choice(len(towns), size=n, p=sample_p / sample_p.sum())
        urban = t_urban[town]
        parent = rng.random(n) < 0.62
        child_stage = np.where(parent, rng.choice(["幼儿园", "小学", "初中", "高中"], size=n, p=[0.2, 0.38, 0.27, 0.15]), "无")
        sex = rng.choice(["男", "女"], size=n)
        age = rng.choice(["18-29岁", "30-39岁", "40-49岁", "50-59岁", "60岁及以上"], size=n, p=[0.12, 0.32, 0.28, 0.16, 0.12])
        home = county == settings.home_county
        # Rural respondents and crowded townships are less satisfied; the county shift restores the target mean.
        person = -0.45 * (~urban) - 0.35 * t_crowd[town] * (1.0 if home else 0.5) + 0.08 * parent
        person = person - person.mean()
        general = rng.normal(0.0, 1.0, n)
        item_latent, specific = {}, {}
        for item in settings.items:
            offset = HOME_ITEM_OFFSET.get(item, 0.0) if home else rng.normal(0.0, 0.15)
            if home and item == "有偿补课治理":
                offset += 0.35 * frac  # the ledger of problems works: tutoring complaints fall over the year
            if item == "大班额治理":
                offset = offset - 0.6 * t_crowd[town]
            if item == "入园难入园贵":
                offset = offset - 0.25 * (child_stage == "幼儿园")
            specific[item] = offset + ITEM_NOISE * rng.normal(0.0, 1.0, n)
            item_latent[item] = shift + person + GENERAL_LOAD * general + specific[item]
        drive = sum(ITEM_DRIVE.get(i, 0.05) * (specific[i] - specific[i].mean()) for i in settings.items)
        # The county shift was solved for a latent sd; rescale the respondent part to match it.
        spread = GENERAL_LOAD * general + DRIVE_SCALE * drive + rng.normal(0.0, OVERALL_NOISE, n)
        spread = spread * np.sqrt(max(LATENT_SD**2 - person.var(), 0.1)) / _spread_sd(settings.items)
        overall = shift + person + spread
        frame = {
            "respondent_id": [f"{WAVES[wave_index][:4]}{wave_index + 1}{c_index:02d}{i:04d}" for i in range(n)],
            "wave": WAVES[wave_index],
            "county": county,
            "overall": _with_unknown(rng, answers_from_latent(overall), 0.035),
        }
        frame.update({
            "weight": np.round(np.where(urban, 0.4 / urban.mean(), 0.6 / (~urban).mean()) * rng.uniform(0.9, 1.1, n), 4),
            "township": t_names[town],
            "urban_rural": np.where(urban, "城镇", "农村"),
            "respondent_type": np.where(parent, "学生家长", "其他居民"),
            "child_stage": child_stage,
            "sex": sex,
            "age_group": age,
            "phone": [f"1{rng.integers(30, 99)}****{rng.integers(0, 10000):04d}" for _ in range(n)],
        })
        worst = np.array(settings.items)[np.argmin(np.column_stack([item_latent[i] for i in settings.items]), axis=1)]
        says = rng.random(n) < 0.08
        frame["comment"] = [rng.choice(COMMENTS.get(w, ["希望教育越办越好"])) if s else "" for w, s in zip(worst, says)]
        for item in settings.items:
            unknown_rate = 0.05 + 0.04 * (~parent)
            frame[item] = _with_unknown(rng, answers_from_latent(item_latent[item]), unknown_rate)
        frames.append(pd.DataFrame(frame))
    return pd.concat(frames, ignore_index=True)


def _with_unknown(rng: np.random.Generator, answers: np.ndarray, rate) -> np.ndarray:
    """Replace a share of answers by 不了解/说不清."""
    mask = rng.random(len(answers)) < rate
    filler = rng.choice(["不了解", "说不清"], size=len(answers), p=[0.7, 0.3])
    return np.where(mask, filler, answers)


def mock_responses(settings: Settings, seed: int = 2026, scale: int = 1) -> pd.DataFrame:
    """Survey responses for all waves; `scale` repeats the sample size for benchmarks."""
    rng = np.random.default_rng(seed)
    frames = [wave_responses(rng, settings, w) for w in range(len(WAVES)) for _ in range(scale)]
    out = pd.concat(frames, ignore_index=True)
    if scale > 1:
        out = out.assign(respondent_id=out["respondent_id"] + "-" + (out.groupby(["wave", "respondent_id"]).cumcount()).astype(str))
    return out


def mock_published(settings: Settings, seed: int = 2026) -> pd.DataFrame:
    """The city's published mock-evaluation results: the home county 5th in the latest wave."""
    rng = np.random.default_rng(seed + 1)
    rows = []
    for w_index, wave in enumerate(WAVES):
        frac = w_index / (len(WAVES) - 1)
        for county in settings.counties:
            start, end = SCORE_PATH.get(county, (84.0, 84.0))
            rows.append({"wave": wave, "county": county, "score": round(start + (end - start) * frac + rng.normal(0, 0.35), 2)})
    table = pd.DataFrame(rows)
    latest = table["wave"] == WAVES[-1]
    others = table.loc[latest & (table["county"] != settings.home_county), "score"].sort_values(ascending=False).to_numpy()
    # The scenario of the brief: 5th in this year's mock evaluation, just ahead of 6th.
    table.loc[latest & (table["county"] == settings.home_county), "score"] = round((others[3] + others[4]) / 2, 2)
    table["rank"] = table.groupby("wave")["score"].rank(method="min", ascending=False).astype(int)
    return table


def mock_preschool(settings: Settings, seed: int = 2026) -> pd.DataFrame:
    """Preschool population and enrollment per township and school year."""
    rng = np.random.default_rng(seed + 2)
    rows = []
    for y_index, year in enumerate(SCHOOL_YEARS):
        for name, urban, share, crowd in HOME_TOWNSHIPS:
            population = int(round(9000 * share * rng.uniform(0.95, 1.05)))
            ger = (0.97 if urban else 0.80) + 0.025 * y_index + rng.normal(0, 0.03)
            enrolled = int(round(population * ger))
            public_share = (0.36 if urban else 0.52) + 0.035 * y_index + rng.normal(0, 0.04)
            inclusive_share = (0.30 if urban else 0.24) + 0.02 * y_index + rng.normal(0, 0.03)
            public = int(round(enrolled * min(public_share, 0.95)))
            inclusive = int(round(min(enrolled - public, enrolled * inclusive_share)))
            rows.append({"year": year, "township": name, "population_3_5": population, "enrolled": enrolled,
                         "enrolled_public": public, "enrolled_inclusive_private": inclusive})
    return pd.DataFrame(rows)


def mock_compulsory(settings: Settings, seed: int = 2026) -> pd.DataFrame:
    """Compulsory-age population, enrollment and disabled children per township and school year."""
    rng = np.random.default_rng(seed + 3)
    rows = []
    for y_index, year in enumerate(SCHOOL_YEARS):
        for name, urban, share, crowd in HOME_TOWNSHIPS:
            population = int(round(42000 * share * rng.uniform(0.97, 1.03)))
            # County-town schools draw pupils from the villages, so urban ratios exceed 100%.
            ratio = (1.12 if urban else 0.93) + rng.normal(0, 0.01)
            disabled = int(rng.integers(8, 40))
            attend = int(min(disabled, round(disabled * (0.9 + 0.02 * y_index + rng.normal(0, 0.03)))))
            rows.append({"year": year, "township": name, "population": population, "enrolled": int(round(population * ratio)),
                         "disabled_children": disabled, "disabled_enrolled": attend})
    return pd.DataFrame(rows)


def mock_classes(settings: Settings, seed: int = 2026) -> pd.DataFrame:
    """One row per class: crowded county-town schools, small rural ones, fewer large classes each year."""
    rng = np.random.default_rng(seed + 4)
    rows = []
    for y_index, year in enumerate(SCHOOL_YEARS):
        for name, urban, share, crowd in HOME_TOWNSHIPS:
            schools = [(f"{name}中心小学", "小学"), (f"{name}中学", "初中")]
            if urban:
                schools += [(f"{name}第二小学", "小学"), (f"{name}实验中学", "初中")]
            if name == "城关镇":
                schools.append(("云溪县第一高级中学", "高中"))
            for school, stage in schools:
                per_grade = int(rng.integers(4, 9)) if urban else int(rng.integers(1, 4))
                for grade in GRADES[stage]:
                    initial = grade in ("一年级", "七年级")
                    mean = 38 + 18 * crowd - 3.5 * y_index * crowd - (4 if initial else 0)
                    sizes = np.clip(np.round(rng.normal(mean, 6, per_grade)), 12, 78).astype(int)
                    for k, size in enumerate(sizes, start=1):
                        rows.append({"year": year, "school": school, "township": name, "stage": stage,
                                     "grade": grade, "class_name": f"{k}班", "students": int(size)})
    return pd.DataFrame(rows)


def to_contract_headers(frame: pd.DataFrame, kind) -> pd.DataFrame:
    """Rename English columns to the contract's Chinese headers."""
    return frame.rename(columns={c: kind.header_of(c) for c in frame.columns})


def published_with_detail(published: pd.DataFrame, responses: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """The published table with each county's sample size and one score per survey item, as some cities publish."""
    scored = responses.assign(**{item: responses[item].map(settings.points).astype("float64") for item in settings.items})
    weight = scored["weight"].astype("float64")
    parts = {"n": scored.groupby(["wave", "county"]).size()}
    for item in settings.items:
        answered = scored[item].notna()
        num = (scored[item] * weight).where(answered).groupby([scored["wave"], scored["county"]]).sum()
        den = weight.where(answered).groupby([scored["wave"], scored["county"]]).sum()
        parts[item] = (num / den).round(2)
    detail = pd.DataFrame(parts).reset_index()
    return published.merge(detail, on=["wave", "county"], how="left")


def county_scenario(responses: pd.DataFrame, published: pd.DataFrame, settings: Settings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What a county bureau holds: its own respondents for every wave, the city's table for all waves but the latest."""
    own = responses[responses["county"] == settings.home_county].reset_index(drop=True)
    detailed = published_with_detail(published, responses, settings)
    return own, detailed[detailed["wave"] != WAVES[-1]].reset_index(drop=True)


# 民意诉求 (issue 14): one text per item that the settings' keyword rules sort back to that item.
PETITION_TEXTS = {
    "办学条件": ["学校食堂条件差，饭菜凉", "校舍漏雨，设施老旧"],
    "师德师风": ["班主任态度粗暴，师德有问题", "反映教师收礼"],
    "有偿补课治理": ["在职教师有偿补课，逼学生报辅导班", "周末补课收费，举报有偿补课"],
    "课业负担": ["作业太多，孩子写到深夜", "考试排名公布，负担重"],
    "课后服务": ["课后托管时间太短，放学早接不了", "延时服务没有开展"],
    "入园难入园贵": ["公办幼儿园报不上名，入园难", "幼儿园保教费上涨"],
    "大班额治理": ["班额太大，一个班七十人，教室拥挤", "大班问题没有解决，人数多"],
    "校园安全": ["学校门口交通安全隐患", "孩子在校被欺凌，要求处理"],
    "教育收费": ["学校乱收资料费", "收费不透明，费用多"],
    "教育公平": ["划片不公平，择校乱象", "农村学校师资不均衡"],
}
PETITION_MONTHS = pd.period_range("2025-04", "2026-11", freq="M").astype(str).tolist()
SPIKE = ("城关镇", "大班额治理")  # the latest month's surge the 约谈名单 should find


def mock_petitions(responses: pd.DataFrame, settings: Settings, seed: int = 2026) -> pd.DataFrame:
    """Work orders per month, township and item at a rate following the township's share of 不满意/不太满意 on that
    item in the survey (so townships with more complaints about an item score lower on it), plus one spike."""
    rng = np.random.default_rng(seed + 5)
    home = responses[responses["county"] == settings.home_county]
    rows = []
    for m_index, month in enumerate(PETITION_MONTHS):
        for t_index, (town, urban, share, crowd) in enumerate(HOME_TOWNSHIPS):
            answers = home[home["township"] == town]
            for item in settings.items:
                unhappy = float(answers[item].isin(["不满意", "不太满意"]).mean()) if len(answers) else 0.0
                rate = 40.0 * share * unhappy
                extra = 9 if (town, item) == SPIKE and month == PETITION_MONTHS[-1] else 0
                for k in range(int(rng.poisson(rate)) + extra):
                    day = int(rng.integers(1, 29))
                    received = f"{month}-{day:02d}"
                    last = m_index >= len(PETITION_MONTHS) - 2
                    status = rng.choice(["已办结", "办理中", "待办理"], p=[0.55, 0.3, 0.15] if last else [0.95, 0.04, 0.01])
                    closed = ((pd.Timestamp(received) + pd.Timedelta(days=int(rng.integers(2, 25)))).date().isoformat()
                              if status == "已办结" else "")
                    follow = (rng.choice(["满意", "基本满意", "不满意", "未回访"], p=[0.45, 0.3, 0.15, 0.1])
                              if status == "已办结" else "")
                    school = f"{town}中心小学" if rng.random() < 0.4 else (f"{town}中学" if rng.random() < 0.3 else "")
                    rows.append({"order_id": f"YX{month.replace('-', '')}{t_index:02d}{len(rows):05d}", "received": received,
                                 "channel": rng.choice(["12345", "局长信箱", "信访", "其他"], p=[0.7, 0.15, 0.1, 0.05]),
                                 "township": town, "school": school,
                                 "content": str(rng.choice(PETITION_TEXTS.get(item, ["其他诉求"]))),
                                 "status": status, "closed": closed, "follow_up": follow})
    return pd.DataFrame(rows).sort_values(["received", "order_id"], ignore_index=True)


def mock_home_visits(settings: Settings, seed: int = 2026) -> pd.DataFrame:
    """教师全员大家访 per school year and school: urban schools reach fewer of their many pupils."""
    rng = np.random.default_rng(seed + 6)
    rows = []
    for y_index, year in enumerate(SCHOOL_YEARS):
        for name, urban, share, crowd in HOME_TOWNSHIPS:
            schools = [f"{name}中心小学", f"{name}中学"] + ([f"{name}第二小学", f"{name}实验中学"] if urban else [])
            for school in schools:
                enrolled = int(rng.integers(900, 2400)) if urban else int(rng.integers(150, 700))
                coverage = min(0.99, (0.62 if urban else 0.82) + 0.05 * y_index - 0.15 * crowd + rng.normal(0, 0.04))
                rows.append({"year": year, "school": school, "township": name, "enrolled": enrolled,
                             "visited": int(round(enrolled * max(coverage, 0.2)))})
    return pd.DataFrame(rows)


def mock_ledger(settings: Settings) -> pd.DataFrame:
    """A starting 问题台账: closed tutoring and class-size problems (their items' scores rose after), open ones, and
    two past their deadline in 东坝镇."""
    rows = [
        ("TZ2025-001", "有偿补课治理", "城关镇", "", "在职教师有偿补课投诉集中", "工单", "开展专项治理，签订承诺书", "城关镇中心学校", "2025-07-10", "2025-10-31", "已销号", "2025-10-20"),
        ("TZ2025-002", "有偿补课治理", "云溪街道", "", "周末有偿补课班", "督导", "联合市场监管排查校外培训", "云溪街道教育办", "2025-08-01", "2025-12-31", "已销号", "2025-12-15"),
        ("TZ2025-003", "大班额治理", "城关镇", "城关镇中心小学", "一年级大班额", "问卷意见", "新建教学楼分流", "城关镇中心学校", "2025-09-01", "2027-08-31", "整改中", ""),
        ("TZ2026-001", "课后服务", "东坝镇", "东坝镇中心小学", "课后服务时长不足", "工单", "延长托管至18:00", "东坝镇中心学校", "2026-03-01", "2026-06-30", "整改中", ""),
        ("TZ2026-002", "入园难入园贵", "东坝镇", "", "公办园学位不足", "问卷意见", "扩建镇中心幼儿园", "东坝镇中心学校", "2026-04-01", "2026-09-30", "未整改", ""),
        ("TZ2026-003", "校园安全", "石桥镇", "石桥镇中学", "校门口交通隐患", "工单", "增设护学岗与减速带", "石桥镇中学", "2026-05-10", "2026-07-31", "已销号", "2026-07-20"),
        ("TZ2026-004", "课业负担", "云溪街道", "云溪街道中学", "作业量过大", "其他", "作业公示与总量控制", "云溪街道教育办", "2026-09-15", "2027-03-31", "整改中", ""),
    ]
    names = ["ledger_id", "item", "township", "school", "problem", "source", "measure", "owner", "created", "deadline", "state", "closed"]
    frame = pd.DataFrame(rows, columns=names).assign(order_ids="")
    return frame[[c.name for c in LEDGER.columns]]


SCENARIOS = ("city", "county")


def write_mock(settings: Settings, out: Path, seed: int = 2026, scale: int = 1, scenario: str = "city") -> dict[str, Path]:
    """Write every mock file as UTF-8-with-BOM CSV (Excel opens it) and return the paths.

    scenario "city": respondents for every county; "county": only the home county's respondents and the city's
    published table (with sample sizes and item scores) for every wave but the latest.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    responses, published = mock_responses(settings, seed, scale), mock_published(settings, seed)
    if scenario == "county":
        responses, published = county_scenario(responses, published, settings)
    tables = {
        "responses": (responses, responses_kind(settings.items)),
        "published": (published, published_kind(settings.items)),
        "preschool": (mock_preschool(settings, seed), PRESCHOOL),
        "compulsory": (mock_compulsory(settings, seed), COMPULSORY),
        "classes": (mock_classes(settings, seed), CLASSES),
        # Issue 14: new files only, from their own random streams, so the files above stay byte-identical.
        "petitions": (mock_petitions(responses, settings, seed), PETITIONS),
        "home_visits": (mock_home_visits(settings, seed), HOME_VISITS),
        "ledger": (mock_ledger(settings), LEDGER),
    }
    paths = {}
    for key, (frame, kind) in tables.items():
        path = out / f"{key}.csv"
        to_contract_headers(frame, kind).to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\n")
        paths[key] = path
    return paths
