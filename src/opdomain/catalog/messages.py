"""User-facing messages of the catalog and ingestion (Chinese, English)."""

from opdomain.errors import Message

DESCRIPTOR_UNREADABLE = Message("无法读取数据集描述文件：{path}", "cannot read the dataset descriptor: {path}")
DESCRIPTOR_INVALID = Message("数据集描述文件有误：{problems}", "invalid dataset descriptor: {problems}")
UNKNOWN_DEPARTMENT = Message("数据提供单位不存在：{code}", "unknown provider department: {code}")
NOT_A_PROVIDER = Message("{code} 不是数据提供单位", "{code} is not a provider department")
DATA_UNREADABLE = Message("无法读取数据文件：{path}（{reason}）", "cannot read the data file: {path} ({reason})")
COLUMNS_MISMATCH = Message(
    "数据文件的列与描述不一致：缺少 {missing}，多出 {extra}",
    "the file's columns do not match the descriptor: missing {missing}, unexpected {extra}",
)
BAD_ROWS = Message(
    "导入被拒绝：{bad} 行不合格（共 {total} 行），数据域未改变；详见质量报告",
    "import rejected: {bad} bad rows of {total}; the domain is unchanged; see the quality report",
)
EMPTY_FILE = Message("数据文件没有数据行", "the data file has no data rows")
DATASET_NOT_FOUND = Message("数据集不存在：{name}", "dataset not found: {name}")
NO_VERSION = Message("数据集 {name} 尚无已导入的版本", "dataset {name} has no imported version yet")
FORBIDDEN_BAD_CATEGORY = Message("禁止开放的类别无效：{category}", "invalid forbidden category: {category}")
#: row-level quality issues (code → message)
ISSUE_MESSAGES = {
    "required": Message("必填字段为空", "required value missing"),
    "type": Message("类型不符（应为 {type}）", "wrong type (expected {type})"),
    "unique": Message("主键或唯一字段重复", "duplicate key or unique value"),
    "resident_id": Message("身份证号码校验位错误（GB 11643）", "invalid resident ID check digit (GB 11643)"),
    "credit_code": Message("统一社会信用代码校验位错误（GB 32100）", "invalid credit code check digit (GB 32100)"),
    "mobile": Message("手机号码格式错误", "invalid mobile number"),
    "bank_card": Message("银行卡号校验位错误（Luhn）", "invalid bank card number (Luhn)"),
}
