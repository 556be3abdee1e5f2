"""The console's own user-facing messages, as bilingual constants.

The Chinese text is the msgid in the translation catalog; the English text is taken from the
catalog, so these strings are translated in the same one place as every template string.
"""

from __future__ import annotations

from opdomain.errors import Message
from opdomain.web.console.i18n import N_, translate


def _bilingual(zh: str) -> Message:
    return Message(zh, translate("en", zh))


CSRF_INVALID = _bilingual(N_("表单已过期或并非来自本系统，请刷新页面后重试"))
MISSING_CREDENTIALS = _bilingual(N_("请输入用户名和密码"))
UPLOAD_MISSING = _bilingual(N_("请同时选择数据集描述文件（JSON）和数据文件（CSV 或 Parquet）"))
UPLOAD_BAD_FORMAT = _bilingual(N_("数据文件须为 CSV 或 Parquet 格式"))
