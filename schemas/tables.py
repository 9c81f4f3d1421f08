"""The published tables, each declared once as a Pandera model.

Everything else (Frictionless table schemas, the data dictionary, asset checks,
Great Expectations suites, the DuckDB tables) is derived from these models and
the :data:`TABLES` registry at the bottom of this file.
"""

from __future__ import annotations

from typing import Optional

import pandera.polars as pa
import polars as pl

from schemas.fields import ForeignKey, TableSpec, field

ROLES = ["lead", "lead_each", "responsible", "support", "generic", "leader"]
ADMIN_LEVELS = ["central", "province", "prefecture", "county", "unknown"]
UNIT_KINDS = [
    "department",
    "government",
    "management_committee",
    "party_organ",
    "vertical_branch",
    "state_owned_enterprise",
    "university",
    "people_organization",
    "leading_group",
    "public_institution",
    "generic",
    "other",
]
SCRIPTS = ["simplified", "traditional"]
REJECT_STAGES = ["decode", "clean", "parse", "combine"]
ID_PATTERN = r"^[\w\-]{1,64}$"


class Notices(pa.DataFrameModel):
    notice_id: str = field(
        "通知编号",
        "Notice id",
        "由文件名派生的稳定编号",
        "Stable id derived from the file name",
        unique=True,
        str_matches=ID_PATTERN,
    )
    file_name: str = field("文件名", "File name", "raw/ 中的原始文件名", "Original file name in raw/")
    title: str = field("标题", "Title", "通知标题", "Title of the notice")
    issuer: Optional[str] = field("发文机关", "Issuer", "发文机关", "Issuing body", nullable=True)
    doc_number: Optional[str] = field(
        "发文字号",
        "Document number",
        "发文字号,如 湘政发〔2023〕1号",
        "Document number, e.g. 湘政发〔2023〕1号",
        nullable=True,
    )
    region: Optional[str] = field(
        "地区", "Region", "发文机关所在行政区", "Administrative region of the issuer", nullable=True
    )
    admin_level: str = field(
        "行政层级",
        "Administrative level",
        "发文机关的行政层级",
        "Administrative level of the issuer",
        isin=ADMIN_LEVELS,
    )
    doc_type: Optional[str] = field(
        "文种",
        "Document type",
        "文种,如 通知、意见、方案",
        "Document type, e.g. 通知 (notice), 意见 (opinions), 方案 (plan)",
        nullable=True,
    )
    published_date: Optional[pl.Date] = field(
        "成文日期", "Date", "成文或发布日期", "Date signed or published", nullable=True
    )
    script: str = field(
        "字形", "Script", "原文字形:简体或繁体", "Script of the original text: simplified or traditional", isin=SCRIPTS
    )
    encoding: str = field("编码", "Encoding", "原始文件的字符编码", "Character encoding of the raw file")
    raw_sha256: str = field(
        "原文哈希",
        "Raw SHA-256",
        "原始文件字节的 SHA-256",
        "SHA-256 of the raw file bytes",
        str_matches=r"^[0-9a-f]{64}$",
    )
    declared_task_count: Optional[int] = field(
        "声明任务数",
        "Declared task count",
        "通知自述的任务数(如 82项重点工作)",
        "Task count the notice declares about itself (e.g. 82项重点工作)",
        nullable=True,
        ge=0,
    )
    n_sections: int = field("章节数", "Sections", "解析出的章节数", "Number of parsed sections", ge=0)
    n_tasks: int = field("任务数", "Tasks", "解析出的任务数", "Number of parsed tasks", ge=0)
    n_assignments: int = field("分工数", "Assignments", "解析出的分工行数", "Number of parsed assignment rows", ge=0)
    n_removed_lines: int = field(
        "清除行数",
        "Removed lines",
        "清洗时删除的网页杂项和重复段落行数",
        "Lines removed in cleaning (web boilerplate, repeated paragraphs)",
        ge=0,
    )

    n_warnings: int = field(
        "警告数",
        "Warnings",
        "抽取时发现的疑点数(见 warnings 表)",
        "Extraction warnings for this notice (see the warnings table)",
        ge=0,
    )

    class Config:
        strict = True


class Sections(pa.DataFrameModel):
    section_id: str = field("章节编号", "Section id", "通知编号:序号", "Notice id and position", unique=True)
    notice_id: str = field("通知编号", "Notice id", "所属通知", "Notice the section belongs to")
    parent_section_id: Optional[str] = field(
        "上级章节",
        "Parent section",
        "上级章节编号,顶层为空",
        "Parent section id; empty at the top level",
        nullable=True,
    )
    level: int = field("层级", "Level", "大纲层级,1 为顶层", "Outline depth, 1 is the top", ge=1, le=8)
    marker: Optional[str] = field(
        "序号", "Marker", "原文序号,如 一、(一)、附件1", "Marker as printed, e.g. 一、(一)、附件1", nullable=True
    )
    title: str = field("标题", "Title", "章节标题", "Heading text")
    text: Optional[str] = field(
        "导语",
        "Intro text",
        "标题下、首个下级条目前的文字",
        "Text under the heading before its first child",
        nullable=True,
    )
    position: int = field("位置", "Position", "在通知中的顺序", "Order within the notice", ge=0)
    leader: Optional[str] = field(
        "牵头领导",
        "Leader",
        "以领导分组的标题中的领导职务或姓名(不是单位)",
        "Leader named by a heading that groups tasks by leader (a person, not a unit)",
        nullable=True,
    )

    class Config:
        strict = True


class Tasks(pa.DataFrameModel):
    task_id: str = field("任务编号", "Task id", "通知编号:序号", "Notice id and position", unique=True)
    notice_id: str = field("通知编号", "Notice id", "所属通知", "Notice the task belongs to")
    section_id: str = field(
        "章节编号",
        "Section id",
        "所属章节(未编号任务时为章节本身)",
        "Section holding the task (the section itself when the notice numbers no tasks)",
    )
    label: str = field("序号", "Label", "原文任务序号,如 14", "Task number as printed, e.g. 14")
    text: str = field("任务原文", "Text", "任务原文(保持原字形)", "Task text as printed (original script)")
    text_simplified: str = field("简体文本", "Simplified text", "任务的简体文本", "Task text in simplified characters")
    position: int = field("位置", "Position", "在通知中的顺序", "Order within the notice", ge=0)
    is_section: bool = field(
        "章节即任务",
        "Section as task",
        "通知未编号任务,章节本身作为任务",
        "True when the notice numbers no tasks and the section is the task",
    )
    flags: Optional[str] = field(
        "标记", "Flags", "自动抽取的疑点,分号分隔", "Extraction warnings, semicolon separated", nullable=True
    )

    class Config:
        strict = True


class Assignments(pa.DataFrameModel):
    task_id: str = field("任务编号", "Task id", "所属任务", "Task the clause belongs to")
    clause_no: int = field(
        "分句号",
        "Clause",
        "任务内第几个带分工括号的分句",
        "Which clause of the task (each has its own assignment bracket)",
        ge=1,
    )
    unit_raw: str = field(
        "单位原文", "Unit as written", "原文中的单位写法(共同后缀已展开)", "Unit as written (shared suffixes expanded)"
    )
    unit_id: Optional[str] = field(
        "单位编号",
        "Unit id",
        "单位登记表中的编号;领导职务为空",
        "Id in the unit registry; empty for leader posts",
        nullable=True,
    )
    role: str = field(
        "角色",
        "Role",
        "lead 牵头 / lead_each 分别牵头 / responsible 负责 / support 配合 / generic 泛指 / leader 分管领导",
        "lead / lead_each / responsible / support / generic / leader",
        isin=ROLES,
    )
    deadline: Optional[str] = field(
        "时限", "Deadline", "括号内的完成时限", "Time limit stated inside the bracket", nullable=True
    )
    span: str = field(
        "原文括号", "Source span", "单位所在的括号或分工行原文", "The bracket or labelled line the unit was read from"
    )

    class Config:
        strict = True
        unique = ["task_id", "clause_no", "unit_raw", "role"]


class Units(pa.DataFrameModel):
    unit_id: str = field(
        "单位编号", "Unit id", "规范名称派生的稳定编号", "Stable id derived from the canonical name", unique=True
    )
    name: str = field(
        "规范名称",
        "Canonical name",
        "地区明确的简体规范名称",
        "Canonical simplified name with the region made explicit",
    )
    aliases: str = field("别名", "Aliases", "各通知中的写法,| 分隔", "Spellings seen in the notices, | separated")
    region: Optional[str] = field("地区", "Region", "单位所在行政区", "Region of the unit", nullable=True)
    level: str = field(
        "层级",
        "Level",
        "central / province / prefecture / county",
        "central / province / prefecture / county",
        isin=ADMIN_LEVELS,
    )
    kind: str = field(
        "类型",
        "Kind",
        "部门、政府、管委会、党委机构、垂直管理机构、国企、高校、群团、泛指等",
        "Department, government, management committee, party organ, vertical branch, SOE, university, people's organisation, generic…",
        isin=UNIT_KINDS,
    )

    class Config:
        strict = True


class Targets(pa.DataFrameModel):
    target_id: str = field(
        "目标编号", "Target id", "所在任务或章节编号:起点", "Task (or section) id and span start", unique=True
    )
    task_id: Optional[str] = field(
        "任务编号",
        "Task id",
        "所属任务;目标写在章节导语中时为空",
        "Task the target belongs to; empty when it is stated in a section's intro text",
        nullable=True,
    )
    section_id: str = field("章节编号", "Section id", "目标所在章节", "Section where the target is stated")
    metric: str = field("指标", "Metric", "指标名称(简体)", "What is measured (simplified)")
    value: float = field("数值", "Value", "目标数值;区间时为下限", "Target value; the lower bound of a range")
    value_max: Optional[float] = field("上限", "Upper bound", "区间目标的上限", "Upper bound of a range", nullable=True)
    unit: str = field("计量单位", "Unit", "计量单位,如 %、亿元、万人", "Unit of measure, e.g. %, 亿元, 万人")
    qualifier: Optional[str] = field(
        "限定词",
        "Qualifier",
        "以上、左右、以内、不低于、突破、达到 等",
        "以上 / 左右 / 以内 / 不低于 / 突破 / 达到 …",
        nullable=True,
    )
    year: Optional[int] = field(
        "目标年份",
        "Year",
        "文中给出的目标年份,如 到2025年",
        "Target year where the text gives one (到2025年)",
        nullable=True,
        ge=1949,
        le=2100,
    )
    span: str = field(
        "原文", "Source span", "目标所在的原文片段(简体)", "The text the target was read from (simplified)"
    )
    span_start: int = field(
        "起点",
        "Span start",
        "片段在任务(或章节导语)简体文本中的起点",
        "Start offset of the span in the simplified text of the task (or of the section's intro)",
        ge=0,
    )

    class Config:
        strict = True


class Glossary(pa.DataFrameModel):
    notice_id: str = field("通知编号", "Notice id", "所属通知", "Notice defining the term")
    term: str = field("名词", "Term", "被解释的名词", "Term defined")
    definition: str = field("解释", "Definition", "名词解释原文", "Definition as printed")

    class Config:
        strict = True
        unique = ["notice_id", "term"]


WARNING_KINDS = [
    "cut_off",
    "bracket_cut_off",
    "page_jump",
    "section_missing",
    "continues_elsewhere",
    "joined_across_pages",
    "declared_count_mismatch",
    "no_assignment",
    "unknown_unit",
    "stray_text",
]


class Warnings(pa.DataFrameModel):
    notice_id: str = field("通知编号", "Notice id", "所属通知", "Notice the warning is about")
    task_id: Optional[str] = field(
        "任务编号",
        "Task id",
        "相关任务(整份通知时为空)",
        "Task concerned; empty when it concerns the whole notice",
        nullable=True,
    )
    kind: str = field("类型", "Kind", "疑点类型", "Kind of warning", isin=WARNING_KINDS)
    message: str = field("说明", "Message", "疑点说明", "What looked wrong")

    class Config:
        strict = True
        unique = ["notice_id", "kind", "message"]


class Rejects(pa.DataFrameModel):
    file_name: str = field("文件名", "File name", "raw/ 中的文件名", "File name in raw/")
    notice_id: str = field("通知编号", "Notice id", "该文件的分区键", "Partition key of the file", unique=True)
    raw_sha256: Optional[str] = field(
        "原文哈希", "Raw SHA-256", "原始文件字节的 SHA-256", "SHA-256 of the raw bytes", nullable=True
    )
    stage: str = field("阶段", "Stage", "失败的阶段", "Stage that rejected the file", isin=REJECT_STAGES)
    reason: str = field("原因", "Reason", "拒收原因", "Why the file was rejected")

    class Config:
        strict = True


def _fk(fields: str, table: str, ref: str) -> ForeignKey:
    return ForeignKey((fields,), table, (ref,))


TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in [
        TableSpec(
            "notices",
            Notices,
            "通知",
            "Notices",
            "每份通知一行:标题、发文机关、字号、地区、日期和计数",
            "One row per notice: title, issuer, number, region, date and counts",
            ("notice_id",),
        ),
        TableSpec(
            "sections",
            Sections,
            "章节",
            "Sections",
            "通知的大纲:部分、章节、附件",
            "The outline of each notice: parts, sections, attachments",
            ("section_id",),
            (_fk("notice_id", "notices", "notice_id"), _fk("parent_section_id", "sections", "section_id")),
        ),
        TableSpec(
            "tasks",
            Tasks,
            "任务",
            "Tasks",
            "编号任务(通知未编号时为章节本身)",
            "Numbered tasks (or the section itself where the notice numbers none)",
            ("task_id",),
            (_fk("notice_id", "notices", "notice_id"), _fk("section_id", "sections", "section_id")),
        ),
        TableSpec(
            "assignments",
            Assignments,
            "分工",
            "Assignments",
            "每个(任务分句, 单位, 角色)一行",
            "One row per (task clause, unit, role)",
            ("task_id", "clause_no", "unit_raw", "role"),
            (_fk("task_id", "tasks", "task_id"), _fk("unit_id", "units", "unit_id")),
        ),
        TableSpec(
            "units",
            Units,
            "单位",
            "Units",
            "跨通知的单位登记表",
            "Registry of the organisations named across notices",
            ("unit_id",),
        ),
        TableSpec(
            "targets",
            Targets,
            "量化目标",
            "Targets",
            "任务中的量化目标",
            "Quantitative targets stated in tasks (or in a section's intro text)",
            ("target_id",),
            (_fk("task_id", "tasks", "task_id"), _fk("section_id", "sections", "section_id")),
        ),
        TableSpec(
            "glossary",
            Glossary,
            "名词解释",
            "Glossary",
            "通知中的名词解释",
            "Terms defined in a notice (名词解释)",
            ("notice_id", "term"),
            (_fk("notice_id", "notices", "notice_id"),),
        ),
        TableSpec(
            "warnings",
            Warnings,
            "抽取警告",
            "Warnings",
            "已发布但有疑点的抽取结果(被截断的括号、跨版面的段落等)",
            "Published rows that need a human look: cut brackets, paragraphs continued across pages, count mismatches",
            ("notice_id", "kind", "message"),
            (_fk("notice_id", "notices", "notice_id"), _fk("task_id", "tasks", "task_id")),
        ),
        TableSpec(
            "rejects",
            Rejects,
            "拒收文件",
            "Rejects",
            "无法读取或解析的文件及原因",
            "Files that could not be read or parsed, with the reason",
            ("notice_id",),
        ),
    ]
}


def polars_schema(table: str) -> dict[str, pl.DataType]:
    """The table's columns and their Polars dtypes, from its Pandera model."""
    return {name: col.dtype.type for name, col in TABLES[table].schema.columns.items()}


def empty_frame(table: str) -> pl.DataFrame:
    """An empty frame with the table's columns and dtypes."""
    return pl.DataFrame(schema=polars_schema(table))
