"""Shared fixtures: the scenario's source data generated once per session (SCENARIO.md "Source data")."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from opdomain.scenarios import generate
from opdomain.scenarios.descriptors import load_descriptor

SMALL = 200


@dataclass
class Generated:
    out: Path
    enterprises: int
    descriptors: list[Path]

    def path(self, qualified: str, fmt: str) -> Path:
        department, table = qualified.split(".")
        return self.out / department / f"{table}.{fmt}"

    def table(self, qualified: str) -> pa.Table:
        return pq.read_table(self.path(qualified, "parquet"))

    def rows(self, qualified: str) -> dict[str, list]:
        return self.table(qualified).to_pydict()

    def descriptor(self, qualified: str) -> dict:
        department, table = qualified.split(".")
        return load_descriptor(self.out / department / f"{table}.resource.json")


@pytest.fixture(scope="session")
def small(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    out = tmp_path_factory.mktemp("scenario-small")
    return Generated(out, SMALL, generate(out, enterprises=SMALL, seed=2023))


@pytest.fixture(scope="session")
def default(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    """The scenario as SCENARIO.md describes it: 1,290 enterprises, seed 2023 (the defaults)."""
    out = tmp_path_factory.mktemp("scenario-default")
    return Generated(out, 1290, generate(out))


@pytest.fixture(scope="session", params=["small", "default"])
def generated(request: pytest.FixtureRequest) -> Generated:
    return request.getfixturevalue(request.param)
