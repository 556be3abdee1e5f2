"""User-facing messages of jobs (作业), Chinese first, as named constants (STYLE)."""

from opdomain.errors import Message

JOB_NOT_FOUND = Message("作业 {job_id} 不存在", "job {job_id} not found")
BAD_DEFINITION = Message("作业定义无效：{why}", "the job definition is not valid: {why}")
BAD_ENVIRONMENT = Message("环境无效：{value}（dev 开发环境 或 domain 运营域）",
                          "unknown environment: {value} (dev or domain)")
INPUT_NOT_GRANTED = Message("输入 {dataset} 不在本授权范围内", "input {dataset} is not within this grant")
BAD_TRANSITION = Message("作业状态为 {current}，不能{action}", "the job is {current}: it cannot be {action_en}")
NOT_YOUR_JOB = Message("只能操作本单位的作业", "only jobs of your own organization")
GRANT_NOT_ACTIVE = Message("授权 {grant_id} 当前不可用（{status}），作业不运行",
                           "grant {grant_id} is not active ({status}); the job does not run")
CANCELLED_BY_GRANT_END = Message("授权已终止（{reason}），作业已取消",
                                 "the grant ended ({reason}); the job was cancelled")
OUTPUT_MISSING = Message("声明的输出 {name} 未生成", "the declared output {name} was not produced")
OUTPUT_NOT_FOUND = Message("作业 {job_id} 没有输出 {name}", "job {job_id} has no output {name}")
DOMAIN_OUTPUT_HIDDEN = Message(
    "运营域内作业的输出只能经出域审核离开，分析人员不能直接读取",
    "outputs of a job on real data leave only through the airlock; the analyst cannot read them directly")
ACTION_FAILED = Message("动作 {action} 失败：{status}", "action {action} failed: {status}")
