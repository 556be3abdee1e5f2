from __future__ import annotations

from pathlib import Path

import pytest

from opdomain.scenarios.generate import generate


@pytest.fixture(scope="session")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small generated 泵阀共富贷 scenario (60 enterprises), shared read-only by the catalog tests."""
    out = tmp_path_factory.mktemp("scenario")
    generate(out, enterprises=60, seed=7)
    return out
