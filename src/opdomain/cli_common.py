"""What every ``opdomain`` command module shares: consoles, the ``--home``/``--as`` options, opening the
domain, acting as a named user through the deny-by-default check, and printing a refusal.

Admin commands act as a named person (``--as USER`` or ``OPDOMAIN_USER``) and go through the same
``identity.service.authorize`` as the API; refusals are audited. A refusal prints Chinese and English
and exits 2 (1 for a server-side failure).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from opdomain.config import Settings
from opdomain.errors import DomainError

if TYPE_CHECKING:
    from opdomain.identity.service import Principal
    from opdomain.runtime import Runtime

out = Console()
err = Console(stderr=True)

HomeOpt = Annotated[Path | None, typer.Option("--home", envvar="OPDOMAIN_HOME", help="data directory")]
AsOpt = Annotated[str, typer.Option("--as", envvar="OPDOMAIN_USER", help="the named user acting")]


def settings_for(home: Path | None) -> Settings:
    return Settings(home=home) if home else Settings()


def open_domain(home: Path | None) -> Runtime:
    """The domain of ``home``, with the domain-event handlers installed (grant.ended → jobs, releases)."""
    from opdomain.products.events import install
    from opdomain.runtime import open_runtime

    return install(open_runtime(settings_for(home)))


def fail(exc: DomainError) -> None:
    err.print(f"[red]✗ {exc.message.zh}[/red]\n  {exc.message.en}  [dim]({exc.code})[/dim]")
    problems = exc.details.get("issues") or []
    for p in problems[:20]:
        err.print(f"  line {p.get('line', p.get('row'))}  {p['column']}: {p['message']} / {p['message_en']}")
    if len(problems) > 20:
        err.print(f"  … {len(problems) - 20} more in the quality report (opdomain dataset imports)")
    raise typer.Exit(code=2 if exc.status < 500 else 1)


def acting(rt: Runtime, username: str, permission: str) -> Principal:
    from opdomain.identity.service import authorize, principal_for

    principal = principal_for(rt, username)
    authorize(rt, principal, permission, object_type="cli", object_id=permission)
    return principal
