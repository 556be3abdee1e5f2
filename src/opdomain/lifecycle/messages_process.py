"""User-facing messages of the authorization process (授权程序), agreement, safe people, data requests,
ending and notifications (Chinese, English). Each names the article of the rules it enforces."""

from opdomain.errors import Message

GRANT_STATUS_ZH = {"active": "有效", "suspended": "暂停", "sealed": "封存", "renewing": "续期中",
                   "expired": "到期", "cancelled": "注销", "revoked": "撤销", "destroyed": "已销毁"}
APPLICATION_STATE_ZH = {"draft": "草稿", "applied": "已提交", "pre_review": "材料预审", "materials_requested": "待补正",
                        "expert_review": "专家审查", "final_review": "终审", "publicity": "社会公开",
                        "filed": "已备案", "agreement_signed": "已签协议", "active": "已生效",
                        "rejected": "未通过", "withdrawn": "已撤回"}

# state machines
BAD_APPLICATION_TRANSITION = Message(
    "申请状态为 {state}，不能执行“{action_zh}”（当前可执行：{allowed}）",
    "the application is {state}; '{action}' is not allowed now (allowed: {allowed})")
BAD_GRANT_TRANSITION = Message(
    "授权状态为 {state}，不能执行“{action_zh}”（当前可执行：{allowed}）",
    "the grant is {state}; '{action}' is not allowed now (allowed: {allowed})")
GRANT_ONLY_THROUGH_LIFECYCLE = Message(
    "授权只能经授权程序产生（公告、申请、预审、专家审查、终审、公开、备案、协议、生效）：请使用 /api/v1/applications",
    "a grant exists only through the authorization process (rules 三): use /api/v1/applications")

# announcement (三.(一))
ANNOUNCEMENT_NOT_FOUND = Message("公告不存在：{id}", "announcement not found: {id}")
BAD_WINDOW = Message("申报期的截止日期须不早于开始日期", "the application window must end on or after it opens")
ANNOUNCEMENT_CLOSED = Message("公告 {id} 的申报期为 {opens_on} 至 {closes_on}，当前不在申报期内（R3.1）",
                              "announcement {id} takes applications from {opens_on} to {closes_on}; "
                              "the window is not open (R3.1)")
AREA_NOT_ANNOUNCED = Message("领域“{area}”不在公告的授权运营领域内（R3.1）",
                             "domain area {area} is not one of the announcement's areas (R3.1)")
NO_AREAS = Message("公告须至少列出一个授权运营领域", "an announcement lists at least one domain area")

# application (三.(二))
APPLICATION_NOT_FOUND = Message("申请不存在：{id}", "application not found: {id}")
NO_SCENARIO = Message("无场景不授权：申请须至少包含一个应用场景（R1.5a）",
                      "no scenario, no authorization: an application needs at least one scenario (R1.5a)")
SCENARIO_INCOMPLETE = Message("应用场景“{name}”须写明名称、领域、目标和计划、数据安全保障措施（R1.5a）",
                              "scenario '{name}' needs a name, domain area, goals and plan, and security "
                              "measures (R1.5a)")
NO_REQUIREMENTS = Message("数据需求清单不能为空", "the data requirement list is empty")
PURPOSE_REQUIRED = Message("最小必要：数据集 {dataset} 的字段 {column} 须写明用途（R1.5b）",
                           "minimum necessary: column {column} of {dataset} needs a purpose (R1.5b)")
OWN_APPLICATION_ONLY = Message("只能操作本单位的申请", "only your own organization's applications")
BAD_PRICING_MODE = Message("定价方式无效：{value}（有条件无偿 conditional_free、限期无偿 time_limited_free、"
                           "有条件有偿 conditional_paid）",
                           "unknown pricing mode: {value} (conditional_free, time_limited_free, conditional_paid)")
FEES_REQUIRED = Message("有条件有偿使用须写明收费标准（R3.8）", "conditional paid use needs the fees (R3.8)")
BAD_MATERIAL_KIND = Message("材料类型无效：{value}（可选：{choices}）",
                            "unknown material kind: {value} (one of: {choices})")
EMPTY_MATERIAL = Message("材料文件为空", "the material file is empty")
NOT_EDITABLE = Message("申请已提交，材料只能在补正期间补交", "the application is submitted; materials are added "
                       "only while a correction is requested")

# pre-review (三.(三))
MATERIALS_MISSING = Message("材料不齐全，缺少：{missing}（R3.2/R3.3）",
                            "materials are incomplete; missing: {missing} (R3.2/R3.3)")
NOTICE_ALREADY_GIVEN = Message("补正材料只能一次性告知，本申请已告知过（R3.3）",
                               "missing materials are notified once only; this application was already notified "
                               "(R3.3)")
NOTHING_MISSING = Message("材料齐全，无需补正", "nothing is missing; no correction to request")
RESUBMIT_LATE = Message("补交材料的期限 {deadline} 已过（R3.3）",
                        "the deadline for the missing materials, {deadline}, has passed (R3.3)")
DEADLINE_NOT_PASSED = Message("补交期限 {deadline} 未过，不能以逾期为由不予授权",
                              "the resubmission deadline {deadline} has not passed")
BAD_DEADLINE = Message("补交期限须晚于今天", "the resubmission deadline must be after today")

# expert review (三.(四))
NOT_AN_EXPERT = Message("{username} 不是专家", "{username} is not an expert")
TOO_FEW_EXPERTS = Message("专家审查至少需要 {n} 名专家", "an expert review needs at least {n} experts")
CONFLICT_OF_INTEREST = Message("利益冲突：专家 {username} 任职于申请单位 {operator}，须回避（R3.4）",
                               "conflict of interest: expert {username} works for the applicant {operator} and "
                               "must recuse (R3.4)")
DECLARED_CONFLICT = Message("专家已申报利益冲突，须回避，不能评分（R3.4）",
                            "the expert declared a conflict of interest and must recuse; no scores (R3.4)")
NOT_ASSIGNED = Message("专家 {username} 未被指派审查此申请", "expert {username} is not assigned to this application")
ALREADY_REVIEWED = Message("专家 {username} 已提交评审意见", "expert {username} has already reviewed")
BAD_SCORE = Message("评分须为 0 到 100 的整数：{name} = {value}",
                    "a score is an integer from 0 to 100: {name} = {value}")
OPINION_REQUIRED = Message("须出具书面评审意见（R3.4）", "a written opinion is required (R3.4)")
REVIEWS_OUTSTANDING = Message("尚有专家未提交评审意见：{pending}", "experts still to review: {pending}")
REASONS_REQUIRED = Message("须写明理由", "reasons are required")

# publicity (三.(六)) and filing (三.(七))
PUBLICITY_TOO_SHORT = Message("公示期不少于 {n} 天", "the publicity period is at least {n} days")
PUBLICITY_NOT_OVER = Message("公示期至 {ends_on} 结束，尚未期满（R3.6）",
                             "the publicity period ends on {ends_on}; it is not over (R3.6)")
OBJECTIONS_UNANSWERED = Message("尚有 {n} 条异议未答复（R3.6）", "{n} objection(s) are not yet answered (R3.6)")
NOT_IN_PUBLICITY = Message("申请不在公示期内，不接受异议", "the application is not in its publicity period")
OBJECTION_NOT_FOUND = Message("异议不存在：{id}", "objection not found: {id}")
OBJECTION_ANSWERED = Message("该异议已答复", "the objection is already answered")
FILING_REF_REQUIRED = Message("须填写上级政府备案文号（R3.7）", "the filing reference of the superior government is "
                              "required (R3.7)")

# agreement (三.(八)) and emergency plan (六.(二))
SM2_UNAVAILABLE = Message("国密配置要求以 SM2 加盖合同专用章，但本安装未提供 SM2 实现（gmssl 未安装）",
                          "the 国密 profile seals with SM2, but no SM2 implementation is installed (gmssl)")
AGREEMENT_NOT_FOUND = Message("协议不存在：{id}", "agreement not found: {id}")
NO_EMERGENCY_PLAN = Message("一授权一预案：未制定应急预案，不得开展授权运营（R6.2b）",
                            "one grant, one emergency plan: no plan on file, no operation (R6.2b)")
PLAN_INCOMPLETE = Message("应急预案须有标题和内容", "an emergency plan needs a title and a text")

# renewal (三.(九))
RENEWAL_TOO_LATE = Message("续期须在期限届满 6 个月前（{deadline} 前）申请，已逾期（R3.9b）",
                           "renewal must be applied for at least 6 months before expiry (by {deadline}); too late "
                           "(R3.9b)")
RENEWAL_WINDOW = Message("授权将于 {ends_on} 到期：续期申请须在 {deadline} 前提交（R3.9b）",
                         "the grant ends on {ends_on}: apply for renewal by {deadline} (R3.9b)")
RENEWAL_TERM = Message("续期期限须从原期限届满次日开始", "a renewal's term starts the day after the current term ends")

# ending (三.(九))
CANCELLATION_NOT_REQUESTED = Message("提前注销须由授权运营单位申请（R3.9c）",
                                     "early cancellation needs the operator's request (R3.9c)")
NOT_DUE = Message("授权期限至 {ends_on}，尚未到期", "the term runs to {ends_on}; not yet due")

# safe people (四.(一), 四.(四))
REAL_NAME_UNVERIFIED = Message("未完成实名认证，不能进入工作区（R4.4b）",
                               "real-name verification is missing; the workspace is closed (R4.4b)")
EXAM_NOT_PASSED = Message("未通过岗前培训考核，不能开通运营域权限（R4.1）",
                          "the training exam is not passed; no workspace access (R4.1)")
EXAM_LAPSED = Message("岗前培训考核结果已于 {until} 失效（R4.1）", "the exam result lapsed on {until} (R4.1)")
NO_CONFIDENTIALITY = Message("未签署保密协议，不能进入工作区（R4.4b）",
                             "no signed confidentiality agreement; the workspace is closed (R4.4b)")
STAFF_LEFT = Message("已离开授权运营单位，权限已关闭（R4.4b）",
                     "the person has left the operator; access is closed (R4.4b)")
NOT_OPERATOR_STAFF = Message("{username} 不是授权运营单位人员", "{username} is not staff of an operator")
USER_NOT_FOUND = Message("用户不存在：{username}", "user not found: {username}")
NO_QUESTIONS = Message("题库为空：请先由主管部门维护考题",
                       "the question bank is empty: the authority adds questions first")
BAD_QUESTION = Message("考题须有题干、至少两个选项和正确答案",
                       "a question needs a text, two or more choices and the answer")
BAD_ANSWERS = Message("答案数量与试题数量不一致", "the number of answers does not match the questions")
EXAM_FAILED = Message("考核未通过：{score} 分（合格线 {pass_mark} 分）", "exam failed: {score} (pass mark {pass_mark})")

# data requests (四.(二))
REQUEST_OUT_OF_SCOPE = Message("数据需求超出运营协议范围：{dataset} {columns}（R4.2a）",
                               "the data request is outside the agreement's scope: {dataset} {columns} (R4.2a)")
REQUEST_NOT_FOUND = Message("数据需求申请不存在：{id}", "data request not found: {id}")
REQUEST_DECIDED = Message("该数据需求申请已审核", "the data request is already decided")
OTHER_PROVIDER = Message("只能审核本部门数据集的需求（R4.2a）", "only the dataset's own department reviews it (R4.2a)")
GRANT_NOT_OPEN = Message("授权状态为“{status_zh}”，不受理数据需求申请", "the grant is {status}; no data requests")
UNMASKED_NOT_ALLOWED = Message("该场景未约定数据主体授权同意，不得申请明文字段（R4.2b）",
                               "the scenario has no subject consent; unmasked columns cannot be requested (R4.2b)")

# notifications
NOTIFY_MATERIALS = Message("申请 {id} 材料不齐全，请于 {due} 前补交：{missing}",
                           "application {id}: missing materials, due {due}: {missing}")
NOTIFY_PUBLICITY = Message("申请 {id} 进入社会公示，异议期至 {due}",
                           "application {id} is published; objections until {due}")
NOTIFY_OBJECTION = Message("申请 {id} 收到异议，请及时答复", "application {id} received an objection; answer it")
NOTIFY_RENEWAL = Message("授权 {id} 将于 {ends_on} 到期，续期申请须在 {due} 前提交",
                         "grant {id} ends on {ends_on}; apply for renewal by {due}")
NOTIFY_ENDED = Message("授权 {id} 已终止（{reason}），运营域权限已撤销，域内数据已销毁",
                       "grant {id} has ended ({reason}); access revoked, its data destroyed")
NOTIFY_EXPERT = Message("请审查申请 {id}（{scenario}）", "please review application {id} ({scenario})")
NOTIFICATION_NOT_FOUND = Message("通知不存在：{id}", "notification not found: {id}")
