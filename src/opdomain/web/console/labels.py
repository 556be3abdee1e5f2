"""Display names of the domain's codes (roles, grades, identifiers, states) and the left nav.

Codes stay codes in the database and the API; the console shows these names, in Chinese with
their English translation in the catalog. A capability that adds console pages adds its nav
item with :func:`add_nav_item`.
"""

from __future__ import annotations

from dataclasses import dataclass

from opdomain.web.console.i18n import N_

ROLES = {
    "authority_admin": N_("主管部门管理员"),
    "provider": N_("数据提供单位人员"),
    "expert": N_("专家"),
    "reviewer": N_("出域审核员"),
    "operator_admin": N_("运营单位管理员"),
    "analyst": N_("数据加工人员"),
    "auditor": N_("审计监督人员"),
    "consumer": N_("数据产品调用方"),
    "system": N_("系统"),
    "anonymous": N_("匿名"),
}

#: classification grades (分级), lowest first
GRADES = {
    "L1": N_("公开"),
    "L2": N_("内部"),
    "L3": N_("敏感"),
    "L4": N_("敏感个人信息"),
}

IDENTIFIERS = {
    "resident_id": N_("身份证号"),
    "credit_code": N_("统一社会信用代码"),
    "mobile": N_("手机号码"),
    "bank_card": N_("银行卡号"),
    "person_name": N_("姓名"),
    "address": N_("地址"),
}

SUBJECTS = {
    "person": N_("个人"),
    "enterprise": N_("企业"),
}

TYPES = {
    "string": N_("文本"),
    "integer": N_("整数"),
    "number": N_("数值"),
    "boolean": N_("布尔"),
    "date": N_("日期"),
}

#: rules 一.(六) R1.6c: the categories of data forbidden to open
FORBIDDEN_CATEGORIES = {
    "national_security": N_("危及国家安全"),
    "public_interest": N_("损害公共利益"),
    "personal_or_trade_secret": N_("涉及个人信息、商业秘密或保密商务信息"),
    "agreement": N_("数据获取协议约定不得开放"),
    "law": N_("法律、法规和规章规定不得开放"),
}

IMPORT_STATUSES = {
    "running": N_("进行中"),
    "landed": N_("已入库"),
    "rejected": N_("已拒绝"),
    "failed": N_("失败"),
}

OUTCOMES = {
    "allowed": N_("允许"),
    "refused": N_("拒绝"),
    "failed": N_("失败"),
}


def label(table: dict[str, str], code: str | None) -> str:
    """The (untranslated) display name of ``code``, or the code itself if it has none."""
    if code is None:
        return ""
    return table.get(code, code)


@dataclass(frozen=True)
class NavItem:
    href: str
    title: str  # a msgid, translated when shown
    permission: str
    key: str  # the ``section`` a page passes to highlight its item
    group: str = N_("工作台")


NAV: list[NavItem] = [
    NavItem("/", N_("首页"), "session.me", "home"),
    NavItem("/catalog", N_("数据目录"), "catalog.read", "catalog", N_("数据资源")),
    NavItem("/imports", N_("数据导入"), "imports.read", "imports", N_("数据资源")),
    NavItem("/audit", N_("审计日志"), "audit.read", "audit", N_("监督审计")),
]


def add_nav_item(item: NavItem) -> None:
    """Adds a later capability's page to the left nav (shown to roles holding its permission)."""
    if all(i.href != item.href for i in NAV):
        NAV.append(item)
