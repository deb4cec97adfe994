"""Load and check the one settings file (TOML)."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SETTINGS_PATH = ROOT / "settings.toml"
SETTINGS_ENV = "SATISFACTION_SETTINGS"


class SettingsError(ValueError):
    """A settings file that cannot be used; the message names the key."""


@dataclass(frozen=True)
class Thresholds:
    """Policy thresholds for the enrollment and class-size metrics."""

    preschool_gross_enrollment_min: float = 0.85
    inclusive_coverage_min: float = 0.80
    public_share_min: float = 0.50
    large_class_share_max: float = 0.05
    large_class_min: int = 56
    very_large_class_min: int = 66
    class_cap_primary: int = 45
    class_cap_junior: int = 50
    social_recognition_min: float = 0.85


@dataclass(frozen=True)
class Security:
    """Upload and sign-in limits ([upload] and [security]; every key optional, these are the defaults)."""

    xlsx_max_unpacked_mb: int = 200      # an .xlsx whose entries unpack to more is refused before parsing
    xlsx_max_ratio: int = 100            # ... or whose entry (over 1 MB unpacked) is compressed more than this
    anonymous_read: bool = False         # with accounts configured, may visitors who are not signed in read the pages?
    login_max_failures: int = 5          # wrong passwords for one user name before it is locked
    login_lockout_minutes: int = 15


@dataclass(frozen=True)
class ActionRules:
    """[action]: the 约谈名单 rules and work-order clustering (issue 14); every key optional, these are the defaults."""

    funnel_coverage: float = 0.95   # a township is significantly below the county outside this funnel limit
    fall_waves: int = 2             # ... or its score fell this many waves running
    spike_ratio: float = 2.0        # ... or this month's work orders exceed this × the average of the months before
    spike_months: int = 3
    spike_min_orders: int = 3       # ... and number at least this many (3 against 1 is not a spike)
    cluster_min_orders: int = 3     # work orders on one item in one township that suggest a ledger entry
    order_due_days: int = 15        # days a work order may stay open before it counts as overdue


@dataclass(frozen=True)
class Settings:
    """Everything a bureau may change without touching code."""

    city_name: str
    counties: tuple[str, ...]
    home_county: str
    hold: int
    strive: int
    points: dict[str, float]
    excluded: tuple[str, ...]
    codes: dict[str, str]
    items: tuple[str, ...]
    min_group_n: int = 30
    max_rows: int = 2_000_000
    draws: int = 20_000
    seed: int = 2026
    coverage: float = 0.95
    thresholds: Thresholds = field(default_factory=Thresholds)
    comment_keywords: dict[str, tuple[str, ...]] = field(default_factory=dict)
    security: Security = field(default_factory=Security)
    action: ActionRules = field(default_factory=ActionRules)
    bureau: str = ""  # the bureau that signs the brief; empty: "<home county>教育和体育局"

    @property
    def bureau_name(self) -> str:
        """The signing bureau (落款) of the brief."""
        return self.bureau or f"{self.home_county}教育和体育局"

    @property
    def targets(self) -> tuple[int, int]:
        """Target ranks, strive first (e.g. (5, 6))."""
        return (self.strive, self.hold)

    def with_home(self, county: str) -> "Settings":
        """A copy with another home county (the sidebar choice)."""
        if county not in self.counties:
            raise SettingsError(f"本县“{county}”不在县区列表中")
        return replace(self, home_county=county)


def _get(table: dict, dotted: str):
    node = table
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            raise SettingsError(f"设置文件缺少键 {dotted}")
        node = node[part]
    return node


def _positive_int(table: dict, dotted: str) -> int:
    value = _get(table, dotted)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise SettingsError(f"设置项 {dotted} 必须是正整数，现为 {value!r}")
    return value


def _share(table: dict, dotted: str) -> float:
    value = _get(table, dotted)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise SettingsError(f"设置项 {dotted} 必须是 0 到 1 之间的小数，现为 {value!r}")
    return float(value)


def _str_list(table: dict, dotted: str, min_len: int = 1) -> tuple[str, ...]:
    value = _get(table, dotted)
    if not isinstance(value, list) or len(value) < min_len or not all(isinstance(v, str) and v.strip() for v in value):
        raise SettingsError(f"设置项 {dotted} 必须是至少 {min_len} 个非空文字的列表")
    if len(set(value)) != len(value):
        raise SettingsError(f"设置项 {dotted} 有重复的值")
    return tuple(v.strip() for v in value)


def parse_settings(raw: dict) -> Settings:
    """Check a parsed TOML table and build Settings; errors name the key."""
    counties = _str_list(raw, "city.counties", min_len=2)
    home = _get(raw, "city.home_county")
    if home not in counties:
        raise SettingsError(f"设置项 city.home_county 的“{home}”不在 city.counties 中")
    hold = _positive_int(raw, "targets.hold")
    strive = _positive_int(raw, "targets.strive")
    if strive > hold:
        raise SettingsError("设置项 targets.strive（争五）不能大于 targets.hold（保六）")
    if hold > len(counties):
        raise SettingsError("设置项 targets.hold 大于县区个数")
    points = _get(raw, "scoring.points")
    if not isinstance(points, dict) or len(points) < 2:
        raise SettingsError("设置项 scoring.points 必须列出至少两个答案及其分值")
    for label, value in points.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 100:
            raise SettingsError(f"设置项 scoring.points.{label} 必须是 0–100 的数，现为 {value!r}")
    excluded = _str_list(raw, "scoring.excluded")
    if set(excluded) & set(points):
        raise SettingsError("设置项 scoring.excluded 与 scoring.points 有相同的答案")
    codes = _get(raw, "scoring.codes")
    if not isinstance(codes, dict):
        raise SettingsError("设置项 scoring.codes 必须是 代码 = 答案 的表")
    for code, label in codes.items():
        if label not in points and label not in excluded:
            raise SettingsError(f"设置项 scoring.codes.{code} 的答案“{label}”既不计分也不在排除列表中")
    coverage = _share(raw, "statistics.coverage")
    th_raw = raw.get("thresholds", {})
    defaults = Thresholds()
    th_values = {}
    for name in Thresholds.__dataclass_fields__:
        if name not in th_raw:
            th_values[name] = getattr(defaults, name)
        elif isinstance(getattr(defaults, name), float):
            th_values[name] = _share(raw, f"thresholds.{name}")
        else:
            th_values[name] = _positive_int(raw, f"thresholds.{name}")
    unknown = set(th_raw) - set(Thresholds.__dataclass_fields__)
    if unknown:
        raise SettingsError(f"设置文件有未知的键 thresholds.{sorted(unknown)[0]}")
    if not 2 <= th_values["large_class_min"] < th_values["very_large_class_min"] < 1000:
        # The class-size bands run 大班额 from the first to the second line: they must be two lines in order.
        raise SettingsError(f"设置项 thresholds.very_large_class_min（{th_values['very_large_class_min']}）必须大于 "
                            f"thresholds.large_class_min（{th_values['large_class_min']}），且两者在 2–999 之间")
    security = parse_security(raw)
    action = parse_action(raw)
    keywords_raw = raw.get("comments", {}).get("keywords", {})
    keywords = {topic: _str_list(raw, f"comments.keywords.{topic}") for topic in keywords_raw}
    return Settings(
        city_name=str(_get(raw, "city.name")),
        counties=counties,
        home_county=home,
        hold=hold,
        strive=strive,
        points={str(k): float(v) for k, v in points.items()},
        excluded=excluded,
        codes={str(k): str(v) for k, v in codes.items()},
        items=_str_list(raw, "survey.items"),
        min_group_n=_positive_int(raw, "survey.min_group_n"),
        max_rows=_positive_int(raw, "survey.max_rows"),
        draws=_positive_int(raw, "statistics.draws"),
        seed=_positive_int(raw, "statistics.seed"),
        coverage=coverage,
        thresholds=Thresholds(**th_values),
        comment_keywords=keywords,
        security=security,
        action=action,
        bureau=str(raw.get("city", {}).get("bureau", "")),
    )


SECURITY_KEYS = {"upload": ("xlsx_max_unpacked_mb", "xlsx_max_ratio"),
                 "security": ("anonymous_read", "login_max_failures", "login_lockout_minutes")}


def parse_security(raw: dict) -> Security:
    """The optional [upload] and [security] tables; a missing key keeps its default."""
    values = {}
    for section, keys in SECURITY_KEYS.items():
        table = raw.get(section, {})
        if not isinstance(table, dict):
            raise SettingsError(f"设置项 {section} 必须是表")
        unknown = set(table) - set(keys)
        if unknown:
            raise SettingsError(f"设置文件有未知的键 {section}.{sorted(unknown)[0]}")
        for key in keys:
            if key not in table:
                continue
            if key == "anonymous_read":
                if not isinstance(table[key], bool):
                    raise SettingsError(f"设置项 {section}.{key} 必须是 true 或 false，现为 {table[key]!r}")
                values[key] = table[key]
            else:
                values[key] = _positive_int(raw, f"{section}.{key}")
    return Security(**values)


def parse_action(raw: dict) -> ActionRules:
    """The optional [action] table; a missing key keeps its default."""
    table = raw.get("action", {})
    if not isinstance(table, dict):
        raise SettingsError("设置项 action 必须是表")
    fields = ActionRules.__dataclass_fields__
    unknown = set(table) - set(fields)
    if unknown:
        raise SettingsError(f"设置文件有未知的键 action.{sorted(unknown)[0]}")
    values = {}
    for key, value in table.items():
        if key == "funnel_coverage":
            values[key] = _share(raw, f"action.{key}")
        elif key == "spike_ratio":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 1:
                raise SettingsError(f"设置项 action.{key} 必须是大于 1 的数，现为 {value!r}")
            values[key] = float(value)
        else:
            values[key] = _positive_int(raw, f"action.{key}")
    return ActionRules(**values)


def settings_path() -> Path:
    """The settings file in use: $SATISFACTION_SETTINGS or settings.toml in the repo root."""
    return Path(os.environ.get(SETTINGS_ENV, DEFAULT_SETTINGS_PATH))


def load_settings(path: Path | None = None) -> Settings:
    """Read and check the settings file."""
    path = Path(path) if path else settings_path()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise SettingsError(f"找不到设置文件 {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"设置文件 {path.name} 格式错误：{exc}") from exc
    return parse_settings(raw)
