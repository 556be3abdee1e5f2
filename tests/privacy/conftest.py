"""Fixtures shared by the privacy tests."""

from __future__ import annotations

import duckdb
import pytest


@pytest.fixture
def con():
    """A fresh in-memory DuckDB: the privacy slice only declares SQL, the tests run it."""
    connection = duckdb.connect()
    yield connection
    connection.close()
