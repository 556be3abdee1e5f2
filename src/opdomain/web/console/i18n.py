"""The console's languages: zh-CN (the source language, default) and English.

Every console string is written in Chinese in the templates and code (``{% trans %}``, ``_()``,
``N_()``) and translated in one gettext catalog, ``web/i18n/en/LC_MESSAGES/messages.po``. The
catalog is compiled in memory with Babel when this module is imported, so there is no build step
and no ``.mo`` file to forget; a fuzzy or empty entry falls back to the Chinese text.

The current language lives in a context variable set around each render, so one Jinja2
environment serves concurrent requests in different languages.
"""

from __future__ import annotations

import gettext as _gettext
import io
from contextvars import ContextVar
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations
from fastapi import Request

from opdomain.errors import Message

CATALOG_DIR = Path(__file__).resolve().parent.parent / "i18n"
DOMAIN = "messages"
DEFAULT_LANGUAGE = "zh-CN"
#: language code (cookie value, ``<html lang>``) → Babel locale
LANGUAGES = {"zh-CN": "zh_Hans_CN", "en": "en"}
LANG_COOKIE = "opdomain_lang"
#: the domain runs in China: times are shown in Beijing time, whatever the server's zone
DISPLAY_TZ = ZoneInfo("Asia/Shanghai")

_current: ContextVar[str] = ContextVar("console_language", default=DEFAULT_LANGUAGE)


def N_(message: str) -> str:
    """Marks a string for extraction; it is translated where it is shown (``_(value)``)."""
    return message


def po_path(lang: str) -> Path:
    return CATALOG_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def po_paths(lang: str) -> list[Path]:
    """``messages.po`` first, then one catalog per later slice (``workspace.po``, ``lifecycle.po`` …),
    so that slices built in parallel never edit the same file."""
    folder = CATALOG_DIR / lang / "LC_MESSAGES"
    return [po_path(lang)] + sorted(p for p in folder.glob("*.po") if p.name != f"{DOMAIN}.po")


def read_catalog(lang: str):  # type: ignore[no-untyped-def]
    """All catalogs of ``lang`` merged into one (a later file never overrides an earlier msgid)."""
    merged = None
    for path in po_paths(lang):
        with path.open("rb") as f:
            catalog = read_po(f, locale=LANGUAGES[lang], domain=DOMAIN)
        if merged is None:
            merged = catalog
            continue
        for message in catalog:
            if message.id and message.id not in merged:
                merged[message.id] = message
    return merged


@cache
def translations(lang: str) -> _gettext.NullTranslations:
    """The compiled catalog of ``lang``; Chinese is the source language and needs none."""
    if lang == DEFAULT_LANGUAGE or lang not in LANGUAGES:
        return _gettext.NullTranslations()
    catalog = read_catalog(lang)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return Translations(fp=buf, domain=DOMAIN)


def language_of(request: Request) -> str:
    """The caller's language: the switch's cookie, else zh-CN (Chinese first, SPEC §9)."""
    lang = request.cookies.get(LANG_COOKIE, "")
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def current_language() -> str:
    return _current.get()


def use_language(lang: str):  # type: ignore[no-untyped-def]
    """Sets the language of this context; returns the token for ``reset_language``."""
    return _current.set(lang if lang in LANGUAGES else DEFAULT_LANGUAGE)


def reset_language(token) -> None:  # type: ignore[no-untyped-def]
    _current.reset(token)


def gettext(message: str) -> str:
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current.get()).ngettext(singular, plural, n)


def translate(lang: str, message: str) -> str:
    return translations(lang).gettext(message)


def message_text(message: Message | dict | None, lang: str | None = None) -> str:
    """A bilingual domain message (``Message`` or a ``{"message", "message_en"}`` dict) in ``lang``."""
    lang = lang or _current.get()
    if message is None:
        return ""
    if isinstance(message, Message):
        return message.en if lang == "en" else message.zh
    zh = str(message.get("message", ""))
    en = str(message.get("message_en", "") or zh)
    return en if lang == "en" else zh


def local_time(value: datetime | None) -> datetime | None:
    """Stored times are UTC (SQLite hands them back naive); shown in Beijing time."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(DISPLAY_TZ)


def format_time(value: datetime | None, seconds: bool = True) -> str:
    local = local_time(value)
    if local is None:
        return "—"
    pattern = "yyyy-MM-dd HH:mm:ss" if seconds else "yyyy-MM-dd HH:mm"
    return format_datetime(local, pattern, tzinfo=DISPLAY_TZ, locale=LANGUAGES[_current.get()])


def format_number(value: int | float | None) -> str:
    if value is None:
        return "—"
    return format_decimal(value, locale=LANGUAGES[_current.get()])


def parse_local_time(value: str) -> datetime | None:
    """A ``datetime-local`` form value in Beijing time → an aware UTC datetime (None if blank or bad)."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=DISPLAY_TZ)
    return parsed.astimezone(UTC)
