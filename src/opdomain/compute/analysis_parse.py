"""Pass 1 — parse: exactly one read-only SELECT (rules R1.1a, R4.4c).

The analyst's text is parsed once with sqlglot's DuckDB dialect; everything after works on the tree,
and the engine runs SQL generated from the analysed tree, never the analyst's text (comments are
dropped, so nothing the analyst wrote outside the tree reaches the engine). Anything that is
not a single SELECT (or WITH … SELECT, or a set operation of SELECTs) is refused here: DDL, DML,
PRAGMA, SET, COPY, ATTACH, INSTALL, LOAD, CALL, EXPORT, DESCRIBE, SHOW … and several statements.
"""

from __future__ import annotations

import logging
import re

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from opdomain.compute import messages as msg
from opdomain.compute.analysis_errors import (
    MULTIPLE_STATEMENTS,
    NOT_SELECT,
    PARSE_ERROR,
    RESERVED_NAME,
    RULE_RAW_DATA,
    QueryRefused,
)
from opdomain.compute.analysis_tree import RESERVED_PREFIX

#: longest query text accepted (a guard against pathological input, not a rule)
MAX_SQL_LENGTH = 100_000

# sqlglot warns when it falls back to parsing a statement as an opaque command; we refuse those anyway
logging.getLogger("sqlglot").setLevel(logging.ERROR)


def parse_statement(sql: str) -> exp.Query:
    """Parse ``sql`` into one SELECT tree or refuse (query.parse_error / multiple_statements / not_select)."""
    if not sql or not sql.strip():
        raise QueryRefused(PARSE_ERROR, msg.EMPTY_QUERY, rule=RULE_RAW_DATA)
    if len(sql) > MAX_SQL_LENGTH:
        raise QueryRefused(
            PARSE_ERROR, msg.PARSE_ERROR.format(reason=f"longer than {MAX_SQL_LENGTH} characters"),
            rule=RULE_RAW_DATA,
        )
    try:
        statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
    except (ParseError, TokenError) as exc:
        reason = _first_line(str(exc))
        raise QueryRefused(PARSE_ERROR, msg.PARSE_ERROR.format(reason=reason), rule=RULE_RAW_DATA) from exc
    except RecursionError as exc:  # absurd nesting depth
        raise QueryRefused(
            PARSE_ERROR, msg.PARSE_ERROR.format(reason="nested too deeply"), rule=RULE_RAW_DATA
        ) from exc
    if not statements:
        raise QueryRefused(PARSE_ERROR, msg.EMPTY_QUERY, rule=RULE_RAW_DATA)
    if len(statements) > 1:
        raise QueryRefused(
            MULTIPLE_STATEMENTS, msg.MULTIPLE_STATEMENTS.format(count=len(statements)), rule=RULE_RAW_DATA,
            count=len(statements),
        )
    statement = statements[0]
    if not isinstance(statement, exp.Select | exp.SetOperation):
        kind = _statement_kind(statement)
        raise QueryRefused(NOT_SELECT, msg.NOT_SELECT.format(kind=kind), rule=RULE_RAW_DATA, statement=kind)
    _check_reserved_names(statement)
    for node in statement.walk():
        # comments would be re-emitted into the SQL the engine runs; they carry nothing the analysis needs
        node.comments = None
    return statement


def _statement_kind(statement: exp.Expr) -> str:
    if isinstance(statement, exp.Command):
        return str(statement.this).upper()
    return statement.key.upper()


def _check_reserved_names(tree: exp.Expression) -> None:
    for ident in tree.find_all(exp.Identifier):
        name = str(ident.this)
        if name.lower().startswith(RESERVED_PREFIX):
            raise QueryRefused(RESERVED_NAME, msg.RESERVED_NAME.format(name=name), rule=RULE_RAW_DATA, name=name)


def _first_line(text: str) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", text).strip()
    line = text.splitlines()[0] if text else "syntax error"
    return line[:300]
