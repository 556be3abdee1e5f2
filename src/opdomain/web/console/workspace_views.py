"""Display helpers of the workspace and consent pages: names of codes, the analyser's decisions as notes.

Codes stay codes in the services; these are the names the console shows, written in Chinese and
translated in ``i18n/en/LC_MESSAGES/workspace.po``. Nothing here decides anything: the rules live in
``lifecycle.policy`` and ``compute``; these only say in words what the services already decided.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from opdomain.privacy.masking import MASK_KINDS
from opdomain.web.console.i18n import N_, current_language, gettext
from opdomain.web.console.labels import SUBJECTS, label

#: grant statuses (授权状态, lifecycle.machine.GrantStatus); an unknown code is shown as it is
GRANT_STATUSES = {
    "active": N_("有效"),
    "suspended": N_("暂停"),
    "sealed": N_("封存"),
    "renewing": N_("续期中"),
    "expired": N_("已到期"),
    "cancelled": N_("已注销"),
    "revoked": N_("已撤销"),
    "destroyed": N_("已销毁"),
}

ENVIRONMENTS = {
    "dev": N_("开发环境"),
    "domain": N_("运营域"),
}

QUERY_STATUSES = {
    "ok": N_("成功"),
    "refused": N_("拒绝"),
    "failed": N_("失败"),
}

DEV_BUILD_STATUSES = {
    "building": N_("生成中"),
    "ready": N_("可用"),
    "superseded": N_("已替换"),
    "failed": N_("失败"),
}

CONSENT_ACTIONS = {
    "granted": N_("已授权"),
    "withdrawn": N_("已撤回"),
}

CONSENT_CHANNELS = {
    "counter": N_("窗口办理"),
    "online": N_("线上办理"),
    "paper": N_("纸质材料"),
    "api": N_("系统接口"),
    "batch": N_("批量导入"),
}

#: the mask a column keeps "as is" (no mask kind)
CLEAR = "clear"
CLEAR_TITLE = N_("原值")


def mask_title(kind: str | None, lang: str) -> str:
    """The name of a mask kind (privacy.masking's catalogue carries both languages)."""
    if not kind or kind == CLEAR:
        return gettext(CLEAR_TITLE)
    found = MASK_KINDS.get(kind)
    if found is None:
        return kind
    return found.title_en if lang == "en" else found.title_zh


def mask_subject_id(value: str) -> str:
    """A subject id for display: first 6 and last 4 characters (``913303********035U``), like the
    consent registry's own views; a short value is starred entirely."""
    value = (value or "").strip().upper()
    if len(value) <= 10:
        return "*" * len(value) if value else ""
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


# ---------------------------------------------------------------------------------------------
# the analyser's decisions (compute.analysis: plain English lines for the audit record) as notes


@dataclass(frozen=True)
class Note:
    """One decision as shown: a msgid with its values (translated when rendered), or the raw line."""

    msgid: str
    values: tuple[tuple[str, str], ...] = ()
    raw: str = ""

    def text(self) -> str:
        if not self.msgid:
            return self.raw
        values = {k: self._value(k, v) for k, v in self.values}
        return gettext(self.msgid) % values if values else gettext(self.msgid)

    @staticmethod
    def _value(key: str, value: str) -> str:
        if key == "subject":  # a data subject type: its translated name
            return gettext(label(SUBJECTS, value))
        if key == "subjects":
            sep = ", " if current_language() == "en" else "、"
            return sep.join(gettext(label(SUBJECTS, s.strip())) for s in value.split(",") if s.strip())
        return value


_K = re.compile(r"^k=(\d+) on (\w+)\b")
_REGIONS = re.compile(r"^(\d+) aggregate region\(s\) checked")
_NOTES = {
    "no data subject in the tables used: k not applicable": N_("所用的表不含数据主体，不适用 k 规则"),
    "dev data: rows visible, no k rule": N_("开发环境：抽样、脱敏数据，可见逐行结果，不适用 k 规则"),
}


def decision_notes(decisions: list[str] | tuple[str, ...]) -> list[Note]:
    """The analyser's decisions as short notes, e.g. "k=10（企业）：不足 10 个数据主体的分组已隐去"."""
    notes: list[Note] = []
    for line in decisions:
        text = str(line)
        if text.startswith("environment="):
            continue  # shown beside the result already
        if text.startswith("tables: "):
            notes.append(Note(N_("读取的表：%(tables)s"), (("tables", text[8:]),)))
        elif m := _K.match(text):
            notes.append(Note(N_("k=%(k)s（按%(subject)s计）：不足 %(k)s 个数据主体的分组已隐去"),
                              (("k", m.group(1)), ("subject", m.group(2)))))
        elif m := _REGIONS.match(text):
            notes.append(Note(N_("已检查 %(n)s 个聚合区域：每个区域为 0 个或不少于 k 个数据主体"),
                              (("n", m.group(1)),)))
        elif text.startswith("masked: "):
            notes.append(Note(N_("域内脱敏字段：%(columns)s"), (("columns", text[8:]),)))
        elif text.startswith("consent filter: "):
            notes.append(Note(N_("只使用已授权（个人/企业授权）数据主体的数据：%(subjects)s"),
                              (("subjects", text[16:]),)))
        elif text in _NOTES:
            notes.append(Note(_NOTES[text]))
        else:
            notes.append(Note("", raw=text))
    return notes


#: the rules a refusal cites (RULES.md), named in a few words
RULES = {
    "R1.1a": N_("原始数据不出域，数据可用不可见"),
    "R1.1b": N_("保护个人信息和商业秘密"),
    "R4.4c": N_("全程记录，原始数据对加工人员不可见"),
    "R4.5a": N_("仅在授权范围内使用数据"),
    "R4.2b": N_("个人信息和商业秘密须脱敏或经授权后使用"),
}


def cell_text(value: object) -> str:
    """A result value as text: numbers without grouping (a year stays 2022), at most 4 decimals."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.4f}".rstrip("0").rstrip(".")
    if isinstance(value, list | tuple):
        return "[" + ", ".join(cell_text(v) for v in value) + "]"
    return str(value)


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
