"""The one refusal of governed queries, with stable codes (rules R1.1a, R1.1b, R4.4c).

Every refusal carries the rule id it applies (``details["rule"]``) and what it concerns (a column,
a function, a group), so the audit record and the analyst see the same precise reason. Scope
violations (a table or column outside the grant) answer 403; every other refusal 422.
"""

from __future__ import annotations

from typing import Any

from opdomain.errors import DomainError, Message

# Stable codes: clients and the audit log depend on them.
PARSE_ERROR = "query.parse_error"
MULTIPLE_STATEMENTS = "query.multiple_statements"
NOT_SELECT = "query.not_select"
UNSUPPORTED_SYNTAX = "query.unsupported_syntax"
RESERVED_NAME = "query.reserved_name"
UNKNOWN_TABLE = "query.unknown_table"
COLUMN_NOT_GRANTED = "query.column_not_granted"
FUNCTION_NOT_ALLOWED = "query.function_not_allowed"
IDENTIFIER_IN_OUTPUT = "query.identifier_in_output"
SENSITIVE_IN_OUTPUT = "query.sensitive_in_output"
IDENTIFIER_FILTER = "query.identifier_filter"
IDENTIFIER_EXPRESSION = "query.identifier_expression"
MEMBER_REVEALING_AGGREGATE = "query.member_revealing_aggregate"
NOT_AGGREGATED = "query.not_aggregated"
WINDOW_FUNCTION = "query.window_function"
SET_OPERATION = "query.set_operation"
GROUPING_SETS = "query.grouping_sets"
SUBQUERY_NOT_ALLOWED = "query.subquery_not_allowed"
INNER_LIMIT = "query.inner_limit"
NESTED_CONDITIONAL_AGGREGATE = "query.nested_conditional_aggregate"
TOO_MANY_CONDITIONS = "query.too_many_conditions"
DIFFERENCING = "query.differencing"
ENGINE_REFUSED = "query.engine_refused"
TIMEOUT = "query.timeout"
ENGINE_ERROR = "query.engine_error"

#: rule ids (RULES.md) cited in refusals
RULE_RAW_DATA = "R1.1a"  # raw data never leaves the domain; usable but not visible
RULE_PROTECT = "R1.1b"  # personal information, trade secrets: grades, masking, consent, output checks
RULE_SCOPE = "R4.5a"  # use only within the authorized scope
RULE_AUDIT = "R4.4c"  # every operation recorded; raw data invisible to processing staff

SCOPE_CODES = frozenset({UNKNOWN_TABLE, COLUMN_NOT_GRANTED})


class QueryRefused(DomainError):
    """A governed query refused before it ran (or by the engine's own guard)."""

    status = 422

    def __init__(
        self,
        code: str,
        message: Message,
        *,
        rule: str,
        status: int | None = None,
        **details: Any,
    ) -> None:
        if status is None and code in SCOPE_CODES:
            status = 403
        clean = {k: v for k, v in details.items() if v is not None}
        super().__init__(code, message, status=status, details={"rule": rule, **clean})

    @property
    def rule(self) -> str:
        return str(self.details["rule"])
