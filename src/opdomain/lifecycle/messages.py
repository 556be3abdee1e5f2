"""User-facing messages of grants, workspace access and consent (Chinese, English)."""

from opdomain.errors import Message

# grants
GRANT_NOT_FOUND = Message("授权不存在：{grant_id}", "grant not found: {grant_id}")
UNKNOWN_OPERATOR = Message("授权运营单位不存在：{code}", "operator not found: {code}")
NOT_AN_OPERATOR = Message("{code} 不是授权运营单位", "{code} is not an operator")
SCENARIO_REQUIRED = Message("无场景不授权：须填写应用场景", "no scenario, no authorization: a scenario is required")
BAD_DOMAIN_AREA = Message("领域无效：{area}（可选：{choices}）", "unknown domain area: {area} (one of: {choices})")
NO_COLUMNS = Message("授权须至少包含一个数据集的字段", "a grant needs the columns of at least one dataset")
FORBIDDEN_DATASET = Message("数据集 {name} 禁止开放，不得授权（{category}）",
                            "dataset {name} is forbidden to open and cannot be granted ({category})")
UNKNOWN_DATASET = Message("数据集不存在：{name}", "dataset not found: {name}")
NO_DATA_VERSION = Message("数据集 {name} 尚无已导入的数据", "dataset {name} has no imported data yet")
UNKNOWN_COLUMNS = Message("数据集 {name} 没有以下字段：{columns}", "dataset {name} has no column(s): {columns}")
BAD_TERM_ORDER = Message("授权期限的结束日期须晚于开始日期", "the term must end after it starts")
TERM_TOO_LONG = Message("授权期限一般不超过 3 年（{starts_on} 至 {ends_on}）",
                        "a grant's term is at most 3 years ({starts_on} to {ends_on})")
BAD_K = Message("最小分组主体数 k 须为 2 到 1000 之间的整数：{k}", "k must be an integer from 2 to 1000: {k}")
BAD_SUBJECT_TYPE = Message("数据主体类型无效：{value}（person 或 enterprise）",
                           "unknown data subject type: {value} (person or enterprise)")
OTHER_OPERATOR_GRANT = Message("只能查看本单位的授权", "only your own organization's grants may be seen")
BAD_TRANSITION = Message("授权状态为 {status}，不能{action}", "the grant is {status}; it cannot be {action_en}")

# workspace access (安全环境)
NOT_AN_ANALYST = Message("只有数据加工人员可以使用工作区", "only analysts may use a workspace")
OTHER_OPERATOR = Message("该授权不属于本单位，不能使用其工作区",
                         "this grant belongs to another operator; its workspace is closed to you")
GRANT_NOT_ACTIVE = Message("授权状态为“{status_zh}”，工作区已关闭", "the grant is {status}; its workspace is closed")
GRANT_NOT_STARTED = Message("授权期限尚未开始（{starts_on} 起）", "the grant's term has not started ({starts_on})")
GRANT_EXPIRED = Message("授权已于 {ends_on} 到期，工作区已关闭",
                        "the grant expired on {ends_on}; its workspace is closed")

STATUS_ZH = {"active": "有效", "suspended": "暂停", "sealed": "封存", "expired": "到期",
             "cancelled": "注销", "revoked": "撤销"}

# consent (个人/企业授权)
BAD_RESIDENT_ID = Message("身份证号码无效（GB 11643 校验失败）", "invalid resident ID (GB 11643 check failed)")
BAD_CREDIT_CODE = Message("统一社会信用代码无效（GB 32100 校验失败）", "invalid credit code (GB 32100 check failed)")
BAD_CHANNEL = Message("授权渠道无效：{value}（可选：{choices}）",
                      "unknown consent channel: {value} (one of: {choices})")
CONSENT_ALREADY = Message("该主体已授权此场景", "this subject has already consented to the scenario")
CONSENT_NOT_GIVEN = Message("该主体未授权此场景，无可撤回",
                            "this subject has not consented to the scenario; nothing to withdraw")
