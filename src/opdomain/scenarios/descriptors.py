"""The eight provider departments' tables of the 泵阀共富贷 scenario, declared as data.

SCENARIO.md "Source data" fixes each table's columns, types and the grades of its sensitive columns;
this module states them once, and renders each table as a dataset descriptor (数据集描述): a Frictionless
Data Resource with a Table Schema and the ``opdomain:`` extension keys (grade 分级, identifier type,
data subject). The contract is written down in docs/scenario-data.md. The catalog slice owns parsing
and validation of descriptors; :func:`load_descriptor` only reads the JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opdomain.scenarios import lexicon

DEPARTMENTS: dict[str, str] = {
    "amr": "永嘉县市场监督管理局",
    "tax": "国家税务总局永嘉县税务局",
    "eit": "永嘉县经济和信息化局",
    "stats": "永嘉县统计局",
    "eco": "永嘉县生态环境分局",
    "sci": "永嘉县科学技术局",
    "hrss": "永嘉县人力资源和社会保障局",
    "fin": "永嘉县金融工作服务中心",
}

FIELD_TYPES = ("string", "integer", "number", "boolean", "date")
GRADES = ("L1", "L2", "L3", "L4")
IDENTIFIER_TYPES = ("resident_id", "credit_code", "mobile", "bank_card", "person_name", "address")
SUBJECT_TYPES = ("enterprise", "person")
DATA_YEAR = 2022


@dataclass(frozen=True)
class Column:
    """One column of a source table. ``subject`` marks the column that identifies the table's data
    subject (数据主体) of that kind; ``identifier`` the kind of personal or enterprise identifier held."""

    name: str
    type: str
    title: str
    grade: str = "L2"
    identifier: str | None = None
    subject: str | None = None
    required: bool = True
    unique: bool = False
    enum: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        assert self.type in FIELD_TYPES, self.type
        assert self.grade in GRADES, self.grade
        assert self.identifier is None or self.identifier in IDENTIFIER_TYPES, self.identifier
        assert self.subject is None or self.subject in SUBJECT_TYPES, self.subject


@dataclass(frozen=True)
class Table:
    department: str
    name: str
    title: str
    description: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    per_enterprise: bool = True

    @property
    def qualified_name(self) -> str:
        return f"{self.department}.{self.name}"

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def _uscc(*, unique: bool) -> Column:
    return Column(
        "uscc", "string", "统一社会信用代码", identifier="credit_code", subject="enterprise", unique=unique
    )


_YEAR = Column("year", "integer", "年度", grade="L1")

TABLES: tuple[Table, ...] = (
    Table(
        "amr",
        "enterprise_registry",
        "企业登记信息",
        "Registration of the pump-valve enterprises (企业登记): name, legal representative (法定代表人), "
        "contact mobile, domicile, registered capital, date of establishment.",
        (
            _uscc(unique=True),
            Column("name", "string", "企业名称", grade="L3"),
            Column("legal_rep_name", "string", "法定代表人姓名", grade="L4", identifier="person_name"),
            Column("legal_rep_id", "string", "法定代表人身份证号", grade="L4", identifier="resident_id"),
            Column("phone", "string", "联系电话", grade="L4", identifier="mobile"),
            Column("address", "string", "住所", grade="L3", identifier="address"),
            Column("registered_capital", "number", "注册资本（万元）"),
            Column("established_on", "date", "成立日期"),
            Column("is_joint_stock", "boolean", "是否股份有限公司"),
        ),
        ("uscc",),
    ),
    Table(
        "amr",
        "certifications",
        "企业资质认证",
        "Certifications and qualifications held (资质认证), 0..n per enterprise, at most one of each type.",
        (
            _uscc(unique=False),
            Column("cert_type", "string", "认证类型"),
            Column("issued_on", "date", "发证日期"),
        ),
        ("uscc", "cert_type"),
        per_enterprise=False,
    ),
    Table(
        "tax",
        "annual_tax",
        "企业年度纳税信息",
        "Total tax paid in the year (纳税总额) and the tax credit grade (纳税信用等级).",
        (
            _uscc(unique=True),
            _YEAR,
            Column("total_tax", "number", "纳税总额（元）", grade="L3"),
            Column("tax_credit_grade", "string", "纳税信用等级", enum=lexicon.TAX_CREDIT_GRADES),
        ),
        ("uscc",),
    ),
    Table(
        "eit",
        "mu_efficiency",
        "亩均效益评价",
        "Per-mu efficiency (亩均效益): land used, value added, tax and value added per mu, "
        "above-scale flag (规上), municipal and higher honours (市级及以上荣誉).",
        (
            _uscc(unique=True),
            _YEAR,
            Column("land_mu", "number", "用地面积（亩）"),
            Column("value_added", "number", "工业增加值（元）"),
            Column("tax_per_mu", "number", "亩均税收（元/亩）"),
            Column("value_added_per_mu", "number", "亩均增加值（元/亩）"),
            Column("is_above_scale", "boolean", "是否规模以上企业"),
            Column("honors", "integer", "市级及以上荣誉数"),
        ),
        ("uscc",),
    ),
    Table(
        "stats",
        "sales_profit",
        "企业销售收入与利润",
        "Sales revenue (销售收入), total profit (利润总额) and overall labour productivity (全员劳动生产率).",
        (
            _uscc(unique=True),
            _YEAR,
            Column("sales_revenue", "number", "销售收入（元）", grade="L3"),
            Column("total_profit", "number", "利润总额（元）", grade="L3"),
            Column("labor_productivity", "number", "全员劳动生产率（元/人）"),
        ),
        ("uscc",),
    ),
    Table(
        "eco",
        "green_lowcarbon",
        "绿色低碳",
        "Energy consumption (综合能耗), value added per unit of energy (单位能耗增加值) and the "
        "environmental credit colour (环境信用评价).",
        (
            _uscc(unique=True),
            _YEAR,
            Column("energy_tce", "number", "综合能耗（吨标准煤）"),
            Column("value_added_per_energy", "number", "单位能耗增加值（元/吨标准煤）"),
            Column("env_credit_color", "string", "环境信用评价等级", enum=lexicon.ENV_CREDIT_COLORS),
        ),
        ("uscc",),
    ),
    Table(
        "sci",
        "innovation",
        "科技创新",
        "R&D expense (研发费用) and valid invention patents (有效发明专利).",
        (
            _uscc(unique=True),
            _YEAR,
            Column("rd_expense", "number", "研发费用（元）", grade="L3"),
            Column("invention_patents", "integer", "有效发明专利数"),
        ),
        ("uscc",),
    ),
    Table(
        "hrss",
        "insured_employees",
        "参保职工明细",
        "One row per insured employee (参保职工) at the end of the year: identity, wage base, insured since.",
        (
            _uscc(unique=False),
            Column(
                "person_id",
                "string",
                "公民身份号码",
                grade="L4",
                identifier="resident_id",
                subject="person",
                unique=True,
            ),
            Column("name", "string", "姓名", grade="L4", identifier="person_name"),
            Column("birth_date", "date", "出生日期", grade="L4"),
            Column("gender", "string", "性别", enum=lexicon.GENDERS),
            Column("monthly_wage", "number", "月缴费工资（元）", grade="L4"),
            Column("insured_since", "date", "参保日期"),
        ),
        ("person_id",),
        per_enterprise=False,
    ),
    Table(
        "fin",
        "shareholding_reform",
        "企业股改进度",
        "Stage of the shareholding reform (股份制改造) and the date it was completed.",
        (
            _uscc(unique=True),
            Column("stage", "string", "股改阶段", enum=lexicon.REFORM_STAGES),
            Column("completed_on", "date", "股改完成日期", required=False),
        ),
        ("uscc",),
    ),
)

TABLES_BY_NAME: dict[str, Table] = {t.qualified_name: t for t in TABLES}

SYNTHETIC_NOTE = (
    "Synthetic data (合成数据) for the reference scenario 泵阀共富贷, year {year}; generated by "
    "opdomain with seed {seed} for {enterprises} enterprises. Identifiers are valid in form but fictional."
)


def field_descriptor(column: Column) -> dict[str, Any]:
    """The Table Schema field of one column, with the opdomain extension keys."""
    constraints: dict[str, Any] = {"required": column.required}
    if column.unique:
        constraints["unique"] = True
    if column.enum is not None:
        constraints["enum"] = list(column.enum)
    out: dict[str, Any] = {"name": column.name, "type": column.type, "title": column.title}
    if column.type == "boolean":
        out["trueValues"] = ["true"]
        out["falseValues"] = ["false"]
    out["constraints"] = constraints
    out["opdomain:grade"] = column.grade
    if column.identifier is not None:
        out["opdomain:identifier"] = column.identifier
    if column.subject is not None:
        out["opdomain:subject"] = column.subject
    return out


def resource_descriptor(
    table: Table, formats: tuple[str, ...], *, seed: int, enterprises: int
) -> dict[str, Any]:
    """The descriptor of one table, whose files are ``<table>.<format>`` beside it.

    The first of ``formats`` is the primary ``path``; the others are listed as alternates.
    """
    primary, *others = formats
    return {
        "name": table.qualified_name,
        "title": table.title,
        "description": table.description
        + " "
        + SYNTHETIC_NOTE.format(year=DATA_YEAR, seed=seed, enterprises=enterprises),
        "department": table.department,
        "department_name": DEPARTMENTS[table.department],
        "path": f"{table.name}.{primary}",
        "format": primary,
        "encoding": "utf-8",
        "opdomain:alternates": {fmt: f"{table.name}.{fmt}" for fmt in others},
        "opdomain:forbidden": None,
        "schema": {
            "fields": [field_descriptor(c) for c in table.columns],
            "primaryKey": list(table.primary_key),
            "foreignKeys": [],
        },
    }


def write_descriptor(descriptor: dict[str, Any], path: Path) -> Path:
    path.write_text(json.dumps(descriptor, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


def load_descriptor(path: str | Path) -> dict[str, Any]:
    """Read a descriptor as a plain dict (no validation: the catalog slice does that)."""
    return json.loads(Path(path).read_text(encoding="utf-8"))
