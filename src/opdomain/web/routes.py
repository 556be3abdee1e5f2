"""The list of routers, one per slice; a new slice adds its router here."""

from __future__ import annotations

from fastapi import FastAPI


def include_all(app: FastAPI) -> None:
    from opdomain.catalog.api import router as catalog_router
    from opdomain.compute.api import router as compute_router
    from opdomain.compute.jobs_api import router as jobs_router
    from opdomain.egress.api import router as airlock_router
    from opdomain.identity.api import router as identity_router
    from opdomain.lifecycle.api import router as lifecycle_router
    from opdomain.lifecycle.api_process import router as lifecycle_process_router
    from opdomain.products.api import router as products_router
    from opdomain.products.events import install as install_events
    from opdomain.web.audit_api import router as audit_router

    app.include_router(identity_router)
    app.include_router(catalog_router)
    app.include_router(audit_router)
    app.include_router(lifecycle_router)
    app.include_router(lifecycle_process_router)
    app.include_router(compute_router)
    app.include_router(jobs_router)
    app.include_router(airlock_router)
    app.include_router(products_router)
    install_events(app.state.runtime)
    try:
        from opdomain.web.console import mount_console
    except ImportError:  # console not built yet
        return
    mount_console(app)
