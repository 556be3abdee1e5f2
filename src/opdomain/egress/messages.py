"""User-facing messages and stable finding codes of the egress slice (数据出域), in Chinese and English.

Codes are part of the contract with the airlock service and its reviewers' console: never renumber
or reuse one; add new ones. Every code names the check it belongs to (``<check>.<what>``).
"""

from __future__ import annotations

from enum import StrEnum

from opdomain.errors import Message


class Code(StrEnum):
    """Stable codes of airlock findings (出域检查结论代码)."""

    # file: size, type, active content
    FILE_TOO_LARGE = "file.too_large"
    FILE_SIZE_OK = "file.size_ok"
    FILE_TYPE_REFUSED = "file.type_refused"
    FILE_CODE_EXECUTION = "file.code_execution"
    FILE_TYPE_MISMATCH = "file.type_mismatch"
    FILE_KIND_UNUSUAL = "file.kind_unusual"
    FILE_TYPE_OK = "file.type_ok"
    FILE_UNREADABLE = "file.unreadable"
    FILE_NOT_UTF8 = "file.not_utf8"
    ACTIVE_CONTENT = "content.active"
    EXTERNAL_REFERENCE = "content.external_reference"
    ENTITY_DECLARATION = "content.entity_declaration"
    PDF_NEEDS_READING = "content.pdf_needs_reading"
    PNG_TEXT_CHUNKS = "content.png_text"
    PNG_TRAILING_DATA = "content.png_trailing_data"
    CONTENT_OK = "content.ok"
    # aggregate tables
    ROW_LIMIT = "table.row_limit"
    ROW_LIMIT_OK = "table.row_limit_ok"
    BELOW_MIN_COUNT = "min_count.below_k"
    ZERO_COUNT = "min_count.zero"
    COUNT_NOT_A_COUNT = "min_count.not_a_count"
    NO_COUNT_COLUMN = "min_count.no_count_column"
    MAGNITUDE_UNCOUNTED = "min_count.magnitude_uncounted"
    FEW_CONTRIBUTORS = "min_count.few_contributors"
    MIN_COUNT_OK = "min_count.ok"
    SUPPRESSED_RECOVERABLE = "secondary.recoverable"
    SUPPRESSED_JOINTLY_SMALL = "secondary.jointly_small"
    NEEDS_COMPLEMENTARY = "secondary.needs_complementary_suppression"
    SECONDARY_OK = "secondary.ok"
    P_PERCENT = "dominance.p_percent"
    NK = "dominance.nk"
    DOMINANCE_UNDECIDABLE = "dominance.undecidable"
    NO_CONTRIBUTIONS = "dominance.no_contributions"
    EXTREME_VALUE = "dominance.extreme_value"
    QUANTILE = "dominance.quantile"
    DOMINANCE_OK = "dominance.ok"
    # identifiers
    IDENTIFIER = "identifiers.found"
    IDENTIFIER_IN_HEADER = "identifiers.in_header"
    NAME_SUSPECTED = "identifiers.name_suspected"
    SUBJECT_KEY_ALLOWED = "identifiers.subject_key_allowed"
    IDENTIFIERS_OK = "identifiers.ok"
    # linkability
    SOURCE_KEYS = "linkability.source_keys"
    ONE_ROW_PER_SUBJECT = "linkability.one_row_per_subject"
    ROWS_EQUAL_SUBJECTS = "linkability.rows_equal_subjects"
    NEAR_UNIQUE = "linkability.near_unique_column"
    SUBJECT_KEY_COLUMN = "linkability.subject_key_column"
    LINKABILITY_OK = "linkability.ok"
    # per-subject outputs
    PER_SUBJECT_UNDECLARED = "per_subject.undeclared"
    PER_SUBJECT_COLUMNS = "per_subject.columns"
    PER_SUBJECT_NO_CONSENT = "per_subject.no_consent_set"
    PER_SUBJECT_NOT_CONSENTING = "per_subject.not_consenting"
    PER_SUBJECT_OK = "per_subject.ok"
    # reversibility
    TOO_MANY_PARAMETERS = "reversibility.too_many_parameters"
    MANY_PARAMETERS = "reversibility.many_parameters"
    SUBJECTS_UNKNOWN = "reversibility.subjects_unknown"
    MEMORISED_ROWS = "reversibility.memorised_rows"
    EXACT_VALUES = "reversibility.exact_subject_values"
    EXTERNAL_WEIGHTS = "reversibility.external_weights"
    REVERSIBILITY_OK = "reversibility.ok"


# --- file -------------------------------------------------------------------------------------------

FILE_TOO_LARGE = Message(
    "文件大小 {size} 字节，超过上限 {limit} 字节：大文件可能是原始数据包，须先缩减",
    "the file has {size} bytes, over the limit of {limit}: a large file may be a raw data package",
)
FILE_SIZE_OK = Message("文件大小 {size} 字节，未超过上限", "the file has {size} bytes, within the limit")
FILE_TYPE_REFUSED = Message(
    "不允许出域的文件类型（{detected}）；允许：CSV、Parquet、JSON、PNG、SVG、HTML 报告、PDF、ONNX 模型",
    "file type not allowed out of the domain ({detected}); allowed: CSV, Parquet, JSON, PNG, SVG, "
    "HTML report, PDF, ONNX model",
)
FILE_CODE_EXECUTION = Message(
    "{detected} 文件在加载时可执行任意代码，不能出域；模型请导出为 ONNX",
    "a {detected} file can execute arbitrary code when loaded and may not leave; export models as ONNX",
)
FILE_TYPE_MISMATCH = Message(
    "扩展名 {extension} 与文件内容（{detected}）不符",
    "the extension {extension} does not match the content ({detected})",
)
FILE_KIND_UNUSUAL = Message(
    "申报的输出类型 {kind} 通常不是 {detected} 文件，须人工确认",
    "an output declared as {kind} is not usually a {detected} file: a reviewer must confirm",
)
FILE_TYPE_OK = Message("文件类型 {detected} 在允许清单内", "file type {detected} is on the allow-list")
FILE_UNREADABLE = Message("文件无法按 {detected} 解析：{error}", "the file cannot be read as {detected}: {error}")
FILE_NOT_UTF8 = Message("文本文件须为 UTF-8 编码", "a text file must be UTF-8")
ACTIVE_CONTENT = Message(
    "{detected} 含有可执行内容（{what}），不能出域",
    "the {detected} holds active content ({what}) and may not leave",
)
EXTERNAL_REFERENCE = Message(
    "{detected} 引用外部资源（{what}），打开时会访问外部地址",
    "the {detected} references an external resource ({what}) that opening it would fetch",
)
ENTITY_DECLARATION = Message(
    "文件含 DOCTYPE 或实体声明（可用于实体扩展攻击或引用外部文件）",
    "the file declares a DOCTYPE or entities (entity expansion, external files)",
)
PDF_NEEDS_READING = Message(
    "PDF 正文未自动扫描，审核人须通读全文", "the text of a PDF is not scanned automatically: a reviewer must read it"
)
PNG_TEXT_CHUNKS = Message(
    "PNG 含文本元数据块（{what}），须人工查看", "the PNG holds text metadata chunks ({what}) that a reviewer must read"
)
PNG_TRAILING_DATA = Message(
    "PNG 在结束块之后还有 {size} 字节数据，可能夹带数据",
    "the PNG has {size} bytes after its end chunk, which can smuggle data",
)
CONTENT_OK = Message("未发现可执行内容或外部引用", "no active content or external reference found")

# --- aggregate tables -------------------------------------------------------------------------------

ROW_LIMIT = Message(
    "汇总表有 {rows} 行，超过上限 {limit} 行：可能是行级数据",
    "the aggregate table has {rows} rows, over the limit of {limit}: it may be row-level data",
)
ROW_LIMIT_OK = Message("汇总表有 {rows} 行，未超过上限", "the aggregate table has {rows} rows, within the limit")
BELOW_MIN_COUNT = Message(
    "{column} 列有 {cells} 个单元格的计数低于 {k}",
    "column {column}: {cells} cell(s) count fewer than {k} data subjects",
)
ZERO_COUNT = Message(
    "{column} 列有 {cells} 个零计数单元格：零值表明该组中无人具有此属性，本身即可披露",
    "column {column}: {cells} zero cell(s); a zero says that nobody in the group has the property, "
    "which itself discloses",
)
COUNT_NOT_A_COUNT = Message(
    "计数列 {column} 有 {cells} 个单元格不是非负整数，须人工审核",
    "count column {column}: {cells} cell(s) are not non-negative integers; a reviewer must decide",
)
NO_COUNT_COLUMN = Message(
    "未识别出计数列：请申报哪些列是计数、哪些是数值",
    "no count column recognised: declare which columns are counts and which are magnitudes",
)
MAGNITUDE_UNCOUNTED = Message(
    "数值列 {columns} 的单元格既无同行计数也无贡献明细，无法确认每格至少 {k} 个主体",
    "magnitude column(s) {columns} have neither a count in the row nor contributions: "
    "cannot confirm that each cell comes from at least {k} subjects",
)
FEW_CONTRIBUTORS = Message(
    "{column} 列有 {cells} 个数值单元格的贡献主体少于 {k} 个",
    "column {column}: {cells} magnitude cell(s) come from fewer than {k} subjects",
)
MIN_COUNT_OK = Message("{cells} 个计数单元格均不低于 {k}", "all {cells} count cell(s) are at least {k}")
SUPPRESSED_RECOVERABLE = Message(
    "{cells} 个被隐藏的单元格可由合计/小计相减还原（如 {example}）：须再隐藏互补单元格",
    "{cells} suppressed cell(s) can be recovered from the totals by subtraction (e.g. {example}): "
    "suppress complementary cells too",
)
SUPPRESSED_JOINTLY_SMALL = Message(
    "同一合计中被隐藏的单元格之和为 {total}，低于 {k}：每个被隐藏值都被限定在很小范围",
    "suppressed cells under one total add up to {total}, fewer than {k}: each of them is bounded to a small range",
)
NEEDS_COMPLEMENTARY = Message(
    "{cells} 个小计数单元格若仅被隐藏，仍可由合计还原：须同时隐藏互补单元格（ACRO 的做法不足）",
    "{cells} small cell(s) would still be recoverable from the totals if only they were blanked: "
    "complementary cells must be suppressed too",
)
SECONDARY_OK = Message("合计与小计不能还原任何被隐藏的单元格", "no suppressed cell can be recovered from the totals")
P_PERCENT = Message(
    "{column} 列有 {cells} 个单元格违反 p% 规则（p = {p}%）：第二大贡献者可推算最大者",
    "column {column}: {cells} cell(s) fail the p% rule (p = {p}%): the second largest contributor could "
    "estimate the largest",
)
NK = Message(
    "{column} 列有 {cells} 个单元格违反 (n, k) 集中度规则（n = {n}，k = {k}%）",
    "column {column}: {cells} cell(s) fail the (n, k) dominance rule (n = {n}, k = {k}%)",
)
DOMINANCE_UNDECIDABLE = Message(
    "{column} 列有 {cells} 个单元格含负值或非有限贡献，集中度规则不适用，须人工审核",
    "column {column}: {cells} cell(s) have negative or non-finite contributions; a reviewer must decide",
)
NO_CONTRIBUTIONS = Message(
    "数值列 {columns} 未提供贡献明细，未做集中度检查，须人工审核",
    "no contributions were provided for magnitude column(s) {columns}: dominance was not checked, "
    "a reviewer must decide",
)
EXTREME_VALUE = Message(
    "{column} 列是最大/最小值：极值就是单个主体的原始数值，不能出域",
    "column {column} is a maximum or minimum: an extreme is one subject's own value and may not leave",
)
QUANTILE = Message(
    "{column} 列是分位数/中位数：可能等于单个主体的数值，须人工审核",
    "column {column} is a quantile or median: it may equal one subject's value; a reviewer must decide",
)
DOMINANCE_OK = Message(
    "{cells} 个数值单元格通过 p% 与 (n, k) 集中度规则", "{cells} magnitude cell(s) pass the p% and (n, k) rules"
)

# --- identifiers -----------------------------------------------------------------------------------

IDENTIFIER = Message(
    "{column} 列有 {cells} 个单元格含{kind_zh}（如 {example}）",
    "column {column}: {cells} cell(s) hold a {kind_en} (e.g. {example})",
)
IDENTIFIER_IN_HEADER = Message("列名含{kind_zh}（{example}）", "a column name holds a {kind_en} ({example})")
NAME_SUSPECTED = Message(
    "{column} 列有 {cells} 个单元格疑似人名（如 {example}），须人工确认",
    "column {column}: {cells} cell(s) look like person names (e.g. {example}); a reviewer must confirm",
)
SUBJECT_KEY_ALLOWED = Message(
    "{column} 列是已申报的逐主体输出的主体标识，允许出现 {cells} 个{kind_zh}",
    "column {column} is the subject key of a declared per-subject output: {cells} {kind_en}(s) allowed",
)
IDENTIFIERS_OK = Message("{cells} 个单元格中未发现标识符", "no identifier found in {cells} cell(s)")

IDENTIFIER_NAMES: dict[str, tuple[str, str]] = {
    "resident_id": ("居民身份证号", "resident ID"),
    "credit_code": ("统一社会信用代码", "unified social credit code"),
    "mobile": ("手机号码", "mobile number"),
    "bank_card": ("银行卡号", "bank card number"),
    "person_name": ("人名", "person name"),
    "address": ("地址", "address"),
}

# --- linkability -----------------------------------------------------------------------------------

SOURCE_KEYS = Message(
    "{column} 列有 {cells} 个值是源数据中{subject}的标识或假名，可关联回源记录",
    "column {column}: {cells} value(s) are keys or pseudonyms of source {subject} records and link back to them",
)
ONE_ROW_PER_SUBJECT = Message(
    "{column} 列几乎每行不同且与源数据{subject}标识对应：这是逐主体数据，未申报为逐主体输出",
    "column {column} is nearly unique per row and matches source {subject} keys: this is row-level data, "
    "not declared as a per-subject output",
)
ROWS_EQUAL_SUBJECTS = Message(
    "表的行数等于源数据主体数 {subjects}，且 {column} 列每行唯一：疑为每主体一行",
    "the table has as many rows as the source has subjects ({subjects}) and column {column} is unique: "
    "likely one row per subject",
)
NEAR_UNIQUE = Message(
    "{column} 列 {share}% 的值互不相同：可能是主体键，须人工确认",
    "column {column}: {share}% of its values are distinct; it may be a subject key, a reviewer must confirm",
)
SUBJECT_KEY_COLUMN = Message(
    "{column} 列按名称是主体标识列（如身份证号、信用代码、假名）：汇总输出不能含主体标识列",
    "column {column} is named as a subject key (resident ID, credit code, pseudonym): "
    "an aggregate output may not have one",
)
LINKABILITY_OK = Message("未发现可关联回源记录的列", "no column links back to source records")

# --- per-subject outputs ---------------------------------------------------------------------------

PER_SUBJECT_UNDECLARED = Message(
    "逐主体输出须有已批准的输出结构（列清单）", "a per-subject output needs an approved shape (its list of columns)"
)
PER_SUBJECT_COLUMNS = Message(
    "逐主体输出的列与批准的结构不符（多出：{extra}；缺少：{missing}）",
    "the per-subject output's columns do not match the approved shape (extra: {extra}; missing: {missing})",
)
PER_SUBJECT_NO_CONSENT = Message(
    "未提供授权主体清单，逐主体输出不能出域",
    "no set of consenting subjects was given: a per-subject output may not leave",
)
PER_SUBJECT_NOT_CONSENTING = Message(
    "{cells} 行的主体未授权本场景（如 {example}）：只有授权主体的行可以出域",
    "{cells} row(s) belong to subjects who did not consent (e.g. {example}): only consenting subjects' rows may leave",
)
PER_SUBJECT_OK = Message(
    "{rows} 行均属于授权主体，列与批准的结构一致",
    "all {rows} row(s) belong to consenting subjects and the columns match the approved shape",
)

# --- reversibility ---------------------------------------------------------------------------------

TOO_MANY_PARAMETERS = Message(
    "模型有 {params} 个参数，源数据只有 {subjects} 个主体（剩余自由度 < {dof}）：可由模型还原原始记录",
    "the model has {params} parameters for {subjects} subjects (fewer than {dof} residual degrees of freedom): "
    "raw records could be restored from it",
)
MANY_PARAMETERS = Message(
    "模型有 {params} 个参数，超过主体数 {subjects} 的十分之一，须人工审核",
    "the model has {params} parameters, more than a tenth of its {subjects} subjects; a reviewer must decide",
)
SUBJECTS_UNKNOWN = Message(
    "未提供源数据主体数，无法比较模型参数个数（{params}）",
    "the number of subjects is unknown: cannot judge {params} parameters",
)
MEMORISED_ROWS = Message(
    "{cells} 行与源记录完全相同（列 {columns}）：输出记住了原始数据",
    "{cells} row(s) equal source records over columns {columns}: the output memorised raw data",
)
EXACT_VALUES = Message(
    "{column} 列有 {cells} 个数值与单个主体的原始数值完全相同",
    "column {column}: {cells} value(s) equal one subject's raw value exactly",
)
EXTERNAL_WEIGHTS = Message(
    "ONNX 模型的参数存放在外部文件中，无法检查",
    "the ONNX model keeps its weights in external files that cannot be checked",
)
REVERSIBILITY_OK = Message("未发现可还原原始记录的迹象", "no sign that raw records can be restored")

# --- manifest --------------------------------------------------------------------------------------

MANIFEST_MISSING = Message("发布清单缺少字段：{fields}", "the release manifest lacks: {fields}")
MANIFEST_NOT_JSON = Message(
    "发布清单含无法规范化为 JSON 的值：{error}", "the manifest holds a value that is not JSON: {error}"
)
MANIFEST_BAD_FILE = Message(
    "发布清单的文件条目无效：{path}（{why}）", "invalid file entry in the manifest: {path} ({why})"
)
MANIFEST_REVIEWERS = Message("发布须由两名不同的审核人决定", "a release needs two different reviewers")
SM2_UNAVAILABLE = Message(
    "SM2 签名需要 gmssl 库，本环境未安装；请使用 Ed25519",
    "SM2 signatures need the gmssl package, which is not installed; use Ed25519",
)
UNKNOWN_ALGORITHM = Message("不支持的签名算法：{algorithm}", "unsupported signature algorithm: {algorithm}")
FILE_MISSING = Message("清单中的文件 {path} 不存在", "file {path} of the manifest is missing")
FILE_CHANGED = Message("文件 {path} 已被修改（{what} 不符）", "file {path} was changed ({what} differs)")
FILE_UNEXPECTED = Message("文件 {path} 不在清单中", "file {path} is not in the manifest")
FILE_UNSAFE_PATH = Message("清单中的路径 {path} 指向目录之外", "path {path} of the manifest points outside the folder")
