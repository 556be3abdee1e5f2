"""User-facing messages of the airlock (出域审核), Chinese first, as named constants (STYLE)."""

from opdomain.errors import Message

REQUEST_NOT_FOUND = Message("出域申请 {request_id} 不存在", "release request {request_id} not found")
FILE_NOT_FOUND = Message("出域申请中没有文件 {name}", "the release request has no file {name}")
BAD_TRANSITION = Message("出域申请状态为 {current}，不能{action_zh}",
                         "the release request is {current}: it cannot be {action}")
NOT_AUTHOR = Message("只有申请人本人可以修改、提交或撤回该申请",
                     "only the request's author may change, submit or withdraw it")
OWN_REQUEST = Message("审核人不能审核自己提交的申请", "a reviewer may not review their own request")
OPERATOR_REVIEWER = Message("审核人不能来自运营单位 {operator}", "a reviewer may not belong to the operator {operator}")
THIRD_REVIEWER = Message("本轮已有两名审核人：{reviewers}", "this round already has its two reviewers: {reviewers}")
NOT_A_REVIEWER = Message("您不是本申请本轮的审核人", "you are not a reviewer of this request's current round")
REVIEW_INCOMPLETE = Message("请先对每个文件投票（{missing}）", "vote on every file first ({missing})")
REVIEW_ALREADY_SUBMITTED = Message("您已提交本轮的独立审核意见；请在两人都提交后合议",
                                   "you already submitted your independent review; consolidate once both have")
NOT_CONSOLIDATING = Message("两名审核人都提交独立审核意见后才能作出决定",
                            "a decision needs both reviewers' independent reviews first")
APPROVAL_INCOMPLETE = Message("批准需要两名不同审核人对每个文件（按当前摘要）投赞成票：{problems}",
                              "approval needs two different reviewers approving every file at its current digest: "
                              "{problems}")
BAD_VOTE = Message("投票须为 approve（同意）或 changes（需修改）", "a vote is approve or changes")
BAD_DECISION = Message("决定须为 approve、return 或 reject", "a decision is approve, return or reject")
REASON_REQUIRED = Message("退回或驳回须说明理由", "returning or rejecting needs a reason")
CONTEXT_REQUIRED = Message("每个文件须说明其背景（context）和已采取的披露控制措施（controls）",
                           "every file needs its context and the disclosure controls applied")
NO_FILES = Message("出域申请中没有文件", "the release request has no files")
CHECKS_FAILED = Message("文件 {name} 未通过自动检查（{codes}），不能提交",
                        "file {name} fails the automated checks ({codes}); "
                        "the request cannot be submitted")
OUTPUT_NOT_RELEASABLE = Message("输出 {name} 标记为内部（internal），永不出域",
                                "output {name} is labelled internal: it never leaves the domain")
JOB_NOT_DOMAIN = Message("只有在运营域内成功运行的作业的输出可以申请出域",
                         "only outputs of a job that succeeded on real data may be put in a release request")
OTHER_GRANT = Message("作业 {job_id} 不属于本申请的授权", "job {job_id} does not belong to this request's grant")
UNDECLARED_SHAPE = Message(
    "逐主体输出 {name} 未在授权协议中声明（需声明字段与每主体一行），不能出域",
    "per-subject output {name} is not declared by the grant's agreement (columns, one row per subject): it may "
    "not leave")
BAD_SHAPE = Message("声明的输出形态无效：{why}", "the declared output shape is not valid: {why}")
BAD_RECIPIENT = Message("接收方 {code} 须为调用方单位或本运营单位",
                        "recipient {code} must be a consumer organization or "
                        "the operator itself")
BAD_PRODUCT_TYPE = Message("产品类型无效：{value}", "unknown product type: {value}")
CONSENT_FILTERED = Message("仅保留已授权企业的行：{kept} / {total}（移除 {removed} 行未授权主体）",
                           "only consenting subjects' rows are kept: {kept} of {total} ({removed} rows of "
                           "non-consenting subjects removed)")
UNREADABLE = Message("无法读取逐主体输出 {name}", "the per-subject output {name} cannot be read")
