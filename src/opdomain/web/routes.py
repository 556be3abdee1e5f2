"""The list of routers, one per slice; a new slice adds its router here."""

from __future__ import annotations

from fastapi import FastAPI


def include_all(app: FastAPI) -> None:
    from opdomain.catalog.api import router as catalog_router
    from opdomain.compute.api import router as compute_router
    from opdomain.identity.api import router as identity_router
    from opdomain.lifecycle.api import router as lifecycle_router
    from opdomain.web.audit_api import router as audit_router

    app.include_router(identity_router)
    app.include_router(catalog_router)
    app.include_router(audit_router)
    app.include_router(lifecycle_router)
    app.include_router(compute_router)
    try:
        from opdomain.web.console import mount_console
    except ImportError:  # console not built yet
        return
    mount_console(app)
