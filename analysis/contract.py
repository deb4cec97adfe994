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
    """One column of a file kind: English name, Chinese header, whether required, accepted aliases."""

    name: str
    header: str
    required: bool = False
    dtype: str = "str"  # str | int | float
    aliases: tuple[str, ...] = ()


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
COUNTY = Column("county", "县区", True, aliases=("县（区）", "县市区", "区县", "县(市、区)"))
TOWNSHIP = Column("township", "乡镇（街道）", aliases=("乡镇", "街道", "乡镇街道"))
YEAR = Column("year", "年度", True, aliases=("学年", "年份"))

RESPONSE_COLUMNS: tuple[Column, ...] = (
    Column("respondent_id", "受访者编号", True, aliases=("编号", "样本编号", "问卷编号", "ID")),
    WAVE,
    COUNTY,
    Column("overall", "总体满意度", True, aliases=("总体评价", "总体满意程度")),
    Column("weight", "权重", dtype="float", aliases=("样本权重", "加权系数")),
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
    (WAVE, COUNTY, Column("score", "得分", True, "float", ("满意度得分", "分数")), Column("rank", "名次", True, "int", ("排名",))),
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
        Column("stage", "学段", True),
        Column("grade", "年级", True),
        Column("class_name", "班级", True, aliases=("班级名称", "班号")),
        Column("students", "学生数", True, "int", ("班额", "学生人数")),
    ),
    unique=("year", "school", "grade", "class_name"),
    period="year",
)

KIND_KEYS = ("responses", "published", "preschool", "compulsory", "classes")


def responses_kind(items: tuple[str, ...]) -> FileKind:
    """The survey-response kind, with one column per configured item."""
    item_columns = tuple(Column(item, item) for item in items)
    return FileKind("responses", "调查问卷", RESPONSE_COLUMNS + item_columns, unique=("wave", "respondent_id"))


def file_kind(key: str, items: tuple[str, ...]) -> FileKind:
    """The FileKind for a key such as 'responses' or 'classes'."""
    kinds = {k.key: k for k in (PUBLISHED, PRESCHOOL, COMPULSORY, CLASSES)}
    if key == "responses":
        return responses_kind(items)
    if key not in kinds:
        raise ValueError(f"未知的文件类型“{key}”，可选：{'、'.join(KIND_KEYS)}")
    return kinds[key]


def answer_columns(items: tuple[str, ...]) -> tuple[str, ...]:
    """Columns that hold answers on the satisfaction scale."""
    return ("overall",) + tuple(items)
