"""Expiry happens by itself (R3.9a/R3.9d): `opdomain serve` runs the lifecycle tick in the background."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient

from opdomain.web.app import create_app


def test_serving_app_ticks_the_lifecycle_at_startup(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import make_runtime

    from opdomain.lifecycle import ending

    srt = make_runtime(tmp_path / "h", "sqlite", lifecycle_tick_seconds=3600)

    calls: list[date | None] = []
    real = ending.tick

    def spy(rt, today=None, **kw):  # type: ignore[no-untyped-def]
        calls.append(today)
        return real(rt, today, **kw)

    ending.tick = spy  # type: ignore[assignment]
    try:
        with TestClient(create_app(srt)) as client:  # the context manager runs the lifespan
            assert client.get("/healthz").status_code == 200
            for _ in range(50):
                if calls:
                    break
                import time

                time.sleep(0.05)
    finally:
        ending.tick = real  # type: ignore[assignment]
        srt.close()
    assert calls, "the lifecycle tick did not run while serving"


def test_tick_can_be_switched_off(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import make_runtime

    rt = make_runtime(tmp_path / "h", "sqlite", lifecycle_tick_seconds=0)
    try:
        from opdomain.lifecycle import ending

        calls = []
        real = ending.tick
        ending.tick = lambda *a, **k: calls.append(1)  # type: ignore[assignment]
        try:
            with TestClient(create_app(rt)) as client:
                client.get("/healthz")
        finally:
            ending.tick = real  # type: ignore[assignment]
        assert calls == []
    finally:
        rt.close()
