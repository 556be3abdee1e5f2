"""User-facing messages of the identity slice (Chinese, English)."""

from opdomain.errors import Message

BAD_CREDENTIALS = Message("用户名或密码错误", "wrong username or password")
THROTTLED = Message("登录失败次数过多，请 {seconds} 秒后再试", "too many failed logins; try again in {seconds} s")
NOT_AUTHENTICATED = Message("请先登录", "authentication required")
TOKEN_INVALID = Message("登录凭证无效或已过期，请重新登录", "token invalid or expired; log in again")
PERMISSION_DENIED = Message("无权执行此操作（{permission}）", "permission denied ({permission})")
OTHER_ORGANIZATION = Message("只能操作本单位的数据（{what}）", "only your own organization's {what} may be used")
INACTIVE_USER = Message("账号已停用", "account disabled")
BAD_RESIDENT_ID = Message(
    "身份证号码无效（GB 11643 校验失败）：{value}", "invalid resident ID (GB 11643 check failed): {value}"
)
BAD_PHONE = Message("手机号码无效：{value}", "invalid mobile number: {value}")
BAD_ROLE = Message("未知角色：{value}", "unknown role: {value}")
ROLE_ORG_MISMATCH = Message("角色 {role} 不能属于 {kind} 类单位", "role {role} cannot belong to a {kind} organization")
UNKNOWN_ORG = Message("单位不存在：{code}", "organization not found: {code}")
DUPLICATE_USER = Message("用户名已存在：{username}", "username already exists: {username}")
DUPLICATE_ORG = Message("单位代码已存在：{code}", "organization code already exists: {code}")
WEAK_PASSWORD = Message("密码至少 10 位", "password must have at least 10 characters")
