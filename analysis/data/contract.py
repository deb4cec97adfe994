"""The data contract: file kinds, their Chinese headers, aliases and English column names."""

from __future__ import annotations

from dataclasses import dataclass

ANSWERS_SCORED = ("满意", "比较满意", "一般", "不太满意", "不满意")
URBAN_RURAL = ("城镇", "农村")
RESPONDENT_TYPES = ("学生家长", "其他居民")
CHILD_STAGES = ("幼儿园", "小学", "初中", "高中", "无")
SCHOOL_STAGES = ("小学", "初中", "高中")
GRADES = {
    "小学": ("一年级", "二年级", "三年级", "四年级", "五年级", "六年级"),
    "初中": ("七年级", "八年级", "九年级"),
    "高中": ("高一", "高二", "高三"),
}
INITIAL_GRADES = ("一年级", "七年级")


@dataclass(frozen=True)
class Column:
    """One column of a file kind: English name, Chinese header, whether required, accepted aliases, and its rule.

    `rule` names the check every cell must pass (its check and Chinese message live in analysis/data/validate.py RULES);
    empty means "not negative" for numbers and no check for text. `choices` are the allowed values of a "choice" rule.
    """

    name: str
    header: str
    required: bool = False
    dtype: str = "str"  # str | int | float | date (stored as YYYY-MM-DD text)
    aliases: tuple[str, ...] = ()
    rule: str = ""
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class FileKind:
    """One kind of file analysts bring."""

    key: str
    label: str
    columns: tuple[Column, ...]
    unique: tuple[str, ...] = ()
    period: str = "wave"  # the column that says which wave or school year a row belongs to

    @property
    def required(self) -> tuple[str, ...]:
        """English names of the required columns."""
        return tuple(c.name for c in self.columns if c.required)

    def header_of(self, name: str) -> str:
        """The Chinese header for an English column name (items are their own header)."""
        for column in self.columns:
            if column.name == name:
                return column.header
        return name


WAVE = Column("wave", "测评批次", True, aliases=("批次", "测评轮次", "批次名称"))
COUNTY = Column("county", "县区", True, aliases=("县（区）", "县市区", "区县", "县(市、区)"), rule="county")
TOWNSHIP = Column("township", "乡镇（街道）", aliases=("乡镇", "街道", "乡镇街道"))
YEAR = Column("year", "年度", True, aliases=("学年", "年份"))

RESPONSE_COLUMNS: tuple[Column, ...] = (
    Column("respondent_id", "受访者编号", True, aliases=("编号", "样本编号", "问卷编号", "ID")),
    WAVE,
    COUNTY,
    Column("overall", "总体满意度", True, aliases=("总体评价", "总体满意程度"), rule="answer"),
    Column("weight", "权重", dtype="float", aliases=("样本权重", "加权系数"), rule="positive"),
    TOWNSHIP,
    Column("urban_rural", "城乡", aliases=("城乡类型", "城乡属性")),
    Column("respondent_type", "受访者类型", aliases=("受访者身份", "身份")),
    Column("child_stage", "子女学段", aliases=("孩子学段", "子女就读学段")),
    Column("sex", "性别"),
    Column("age_group", "年龄段", aliases=("年龄组", "年龄")),
    Column("phone", "联系电话", aliases=("电话", "手机号", "手机", "电话号码")),
    Column("comment", "意见建议", aliases=("意见和建议", "建议", "其他意见")),
)

PUBLISHED = FileKind(
    "published",
    "市级测评结果",
    (WAVE, COUNTY, Column("score", "得分", True, "float", ("满意度得分", "分数"), rule="score_range"),
     Column("rank", "名次", True, "int", ("排名",), rule="rank_range")),
    unique=("wave", "county"),
)

PRESCHOOL = FileKind(
    "preschool",
    "学前教育",
    (
        YEAR,
        Column("township", "乡镇（街道）", True, aliases=TOWNSHIP.aliases),
        Column("population_3_5", "3-5岁常住人口", True, "int", ("3至5岁常住人口", "3-5周岁常住人口")),
        Column("enrolled", "在园幼儿数", True, "int", ("在园幼儿总数",)),
        Column("enrolled_public", "公办园在园幼儿数", True, "int"),
        Column("enrolled_inclusive_private", "普惠性民办园在园幼儿数", True, "int"),
    ),
    unique=("year", "township"),
    period="year",
)

COMPULSORY = FileKind(
    "compulsory",
    "义务教育与特殊教育",
    (
        YEAR,
        Column("township", "乡镇（街道）", True, aliases=TOWNSHIP.aliases),
        Column("population", "义务教育适龄人口", True, "int"),
        Column("enrolled", "义务教育在校生数", True, "int"),
        Column("disabled_children", "适龄残疾儿童数", True, "int"),
        Column("disabled_enrolled", "残疾儿童入学数", True, "int"),
    ),
    unique=("year", "township"),
    period="year",
)

CLASSES = FileKind(
    "classes",
    "班级名册",
    (
        YEAR,
        Column("school", "学校", True, aliases=("学校名称",)),
        Column("township", "乡镇（街道）", True, aliases=TOWNSHIP.aliases),
        Column("stage", "学段", True, rule="stage"),
        Column("grade", "年级", True),
        Column("class_name", "班级", True, aliases=("班级名称", "班号")),
        Column("students", "学生数", True, "int", ("班额", "学生人数"), rule="class_size"),
    ),
    unique=("year", "school", "grade", "class_name"),
    period="year",
)

# 民意诉求 and 教师全员大家访 (issue 14): the bureau's own loop from complaints to fixes.
PETITION_CHANNELS = ("12345", "局长信箱", "信访", "其他")
PETITION_STATUSES = ("待办理", "办理中", "已办结")
FOLLOW_UPS = ("满意", "基本满意", "不满意", "未回访")
# Channel names as 12345 systems export them, mapped to the contract's four.
CHANNEL_ALIASES = {"12345热线": "12345", "12345政务服务便民热线": "12345", "市民热线": "12345", "信访件": "信访"}

PETITIONS = FileKind(
    "petitions",
    "民意诉求工单",
    (
        Column("order_id", "工单编号", True, aliases=("工单号", "工单编码")),
        Column("received", "受理日期", True, "date", ("受理时间", "登记日期")),
        # Derived from 受理日期 when the file has no such column; one import per month, so a month's export replaces it.
        Column("month", "受理月份", aliases=("月份",)),
        Column("channel", "渠道", True, aliases=("来源渠道", "诉求渠道"), rule="choice", choices=PETITION_CHANNELS),
        Column("township", "乡镇（街道）", True, aliases=TOWNSHIP.aliases + ("所属区域",)),
        Column("school", "学校", aliases=("学校名称", "涉及学校")),
        Column("content", "诉求内容", True, aliases=("诉求描述", "工单内容", "反映内容")),
        Column("status", "办理状态", True, aliases=("状态",), rule="choice", choices=PETITION_STATUSES),
        Column("closed", "办结日期", dtype="date", aliases=("办结时间",)),
        Column("follow_up", "回访满意", aliases=("回访结果", "回访满意度"), rule="choice", choices=FOLLOW_UPS),
    ),
    unique=("order_id",),
    period="month",
)

HOME_VISITS = FileKind(
    "home_visits",
    "教师全员大家访",
    (
        YEAR,
        Column("school", "学校", True, aliases=("学校名称",)),
        Column("township", "乡镇（街道）", True, aliases=TOWNSHIP.aliases),
        Column("enrolled", "在校学生数", True, "int", ("在校生数", "学生数")),
        Column("visited", "已家访学生数", True, "int", ("家访学生数", "已家访人数")),
    ),
    unique=("year", "school"),
    period="year",
)

LEDGER_SOURCES = ("工单", "问卷意见", "督导", "其他")
LEDGER_STATES = ("未整改", "整改中", "已销号")
OTHER_ITEM = "其他"

# 问题台账: kept as audited events (analysis/data/ledger.py), not as an import; this kind checks a ledger file or one edit.
LEDGER = FileKind(
    "ledger",
    "问题台账",
    (
        Column("ledger_id", "台账编号", True, aliases=("编号", "序号")),
        Column("item", "分项", True, aliases=("问题类别", "分项指标"), rule="ledger_item"),
        Column("township", "乡镇（街道）", aliases=TOWNSHIP.aliases),
        Column("school", "学校", aliases=("学校名称",)),
        Column("problem", "问题描述", True, aliases=("问题", "存在问题")),
        Column("source", "问题来源", True, aliases=("来源",), rule="choice", choices=LEDGER_SOURCES),
        Column("order_ids", "关联工单", aliases=("关联工单编号", "工单编号")),
        Column("measure", "整改措施", aliases=("整改举措",)),
        Column("owner", "责任单位", True, aliases=("责任单位（责任人）", "责任人")),
        Column("created", "登记日期", True, "date", ("建立日期", "发现日期")),
        Column("deadline", "完成时限", True, "date", ("整改时限", "完成时间")),
        Column("state", "整改状态", True, aliases=("状态",), rule="choice", choices=LEDGER_STATES),
        Column("closed", "销号日期", dtype="date", aliases=("销号时间",)),
    ),
    unique=("ledger_id",),
    period="created",
)

KIND_KEYS = ("responses", "published", "preschool", "compulsory", "classes", "petitions", "home_visits")


def responses_kind(items: tuple[str, ...]) -> FileKind:
    """The survey-response kind, with one column per configured item."""
    item_columns = tuple(Column(item, item, rule="answer") for item in items)
    return FileKind("responses", "调查问卷", RESPONSE_COLUMNS + item_columns, unique=("wave", "respondent_id"))


PUBLISHED_N = Column("n", "样本量", dtype="int", aliases=("样本数", "有效样本量", "有效样本"))


def published_kind(items: tuple[str, ...]) -> FileKind:
    """The published kind: score and rank, optionally the sample size and one published score per survey item."""
    item_columns = tuple(Column(item, item, dtype="float", rule="score_range") for item in items)  # published points
    return FileKind(PUBLISHED.key, PUBLISHED.label, PUBLISHED.columns + (PUBLISHED_N,) + item_columns, unique=PUBLISHED.unique)


def file_kind(key: str, items: tuple[str, ...]) -> FileKind:
    """The FileKind for a key such as 'responses' or 'classes'."""
    kinds = {k.key: k for k in (PRESCHOOL, COMPULSORY, CLASSES, PETITIONS, HOME_VISITS, LEDGER)}
    if key == "responses":
        return responses_kind(items)
    if key == "published":
        return published_kind(items)
    if key not in kinds:
        raise ValueError(f"未知的文件类型“{key}”，可选：{'、'.join(KIND_KEYS)}")
    return kinds[key]


def answer_columns(items: tuple[str, ...]) -> tuple[str, ...]:
    """Columns that hold answers on the satisfaction scale."""
    return ("overall",) + tuple(items)
