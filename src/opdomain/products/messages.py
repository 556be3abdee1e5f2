"""User-facing messages of products, releases, downloads and tracing, Chinese first (STYLE)."""

from opdomain.errors import Message

RELEASE_NOT_FOUND = Message("发布 {release_id} 不存在", "release {release_id} not found")
FILE_NOT_IN_RELEASE = Message("发布中没有文件 {name}", "the release has no file {name}")
NOT_RECIPIENT = Message("只有该发布的接收方 {recipient} 可以下载",
                        "only the release's recipient {recipient} may download it")
NOT_RELEASED = Message("出域申请 {request_id} 尚未批准（{status}），不能发布或下载",
                       "release request {request_id} is not approved ({status}): nothing to release or download")
RELEASE_DISABLED = Message("该发布已停用：{reason}", "the release is disabled: {reason}")
APPROVAL_VOID = Message("批准已失效：文件 {name} 与批准时的摘要不一致",
                        "the approval is void: file {name} differs from "
                        "the digest that was approved")
TAMPERED = Message("发布已被篡改：{problems}", "the release was altered: {problems}")
SIGNATURE_BAD = Message("发布清单签名无效", "the manifest's signature is not valid")
NOT_RELEASER = Message("只有申请人或主管部门管理员可以发布",
                       "only the request's author or the authority may release it")
UNREADABLE_TABLE = Message("无法读取待溯源文件：{why}", "the file to trace cannot be read: {why}")
