"""File-level airlock checks: size, type by content, active content (rules 一.(一) R1.1a, 四.(四) R4.4a).

OpenSAFELY's airlock decides a file's type by its extension alone; here the **content** decides
(magic bytes, a parse) and the extension must agree, so a pickle renamed ``result.csv`` is caught.
Allowed: CSV, Parquet, JSON, PNG, SVG, HTML reports, PDF, ONNX models. Refused outright: pickle and
joblib (loading one runs arbitrary code — ``pickle`` documents it), archives and compressed files
(a reviewer cannot see inside), executables, databases and anything unknown.

A figure or report must not be a channel either: SVG and HTML are refused with scripts, event
handlers, ``foreignObject``, entity declarations or references to external resources (opening the
file would call out); a PDF with JavaScript, launch actions or embedded files is refused, any other
PDF needs a reader; a PNG with data after its end chunk is refused. Text found in these files is
handed back to the identifier scan.
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree

from opdomain.egress import messages as msg
from opdomain.egress.check_models import onnx_parameters
from opdomain.egress.check_report import Finding, Outcome, OutputContext, finding
from opdomain.egress.messages import Code

ALLOWED_TYPES: tuple[str, ...] = ("csv", "parquet", "json", "png", "svg", "html", "pdf", "onnx")
EXTENSIONS: dict[str, frozenset[str]] = {
    "csv": frozenset({".csv"}),
    "parquet": frozenset({".parquet", ".pq"}),
    "json": frozenset({".json"}),
    "png": frozenset({".png"}),
    "svg": frozenset({".svg"}),
    "html": frozenset({".html", ".htm"}),
    "pdf": frozenset({".pdf"}),
    "onnx": frozenset({".onnx"}),
}
#: Formats whose loading executes code; refused whatever their content looks like.
CODE_EXECUTION_EXTENSIONS: dict[str, str] = {
    ".pkl": "pickle",
    ".pickle": "pickle",
    ".joblib": "joblib",
    ".jbl": "joblib",
    ".dill": "pickle",
    ".sav": "pickle",
    ".pt": "pickle",
    ".pth": "pickle",
    ".ckpt": "pickle",
}
KIND_TYPES: dict[str, frozenset[str]] = {
    "table": frozenset({"csv", "parquet", "json"}),
    "per_subject": frozenset({"csv", "parquet", "json"}),
    "model": frozenset({"onnx", "json", "csv", "parquet"}),
    "report": frozenset({"html", "pdf", "csv", "png", "svg"}),
    "figure": frozenset({"png", "svg", "pdf"}),
}
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"%PDF-", "pdf"),
    (b"PAR1", "parquet"),
    (b"PK\x03\x04", "zip archive"),
    (b"PK\x05\x06", "zip archive"),
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"7z\xbc\xaf\x27\x1c", "7z archive"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"\x7fELF", "executable"),
    (b"MZ", "executable"),
    (b"SQLite format 3\x00", "sqlite database"),
    (b"\x89HDF\r\n\x1a\n", "hdf5"),
    (b"\x93NUMPY", "numpy array"),
)
_PICKLE_BINARY = re.compile(rb"\A\x80[\x02-\x05]")
_PICKLE_TEXT = re.compile(rb"\A(?:\((?:dp|lp|tp|i)?[\w.]*\n|c[A-Za-z_][\w.]*\n\w+\n)")
_ZLIB = re.compile(rb"\Ax[\x01\x5e\x9c\xda]")
_HEAD_BYTES = 64 * 1024
_MAX_PARSED = 64 * 1024 * 1024  # a model larger than this is not parsed while sniffing (it fails the size limit)


@dataclass(frozen=True)
class Sniffed:
    """What a file is by its content (``detected``) and what its name says (``extension``)."""

    detected: str
    extension: str
    head: bytes


def sniff(path: Path) -> Sniffed:
    """The type of a file by its magic bytes, then by parsing its first bytes as text."""
    with path.open("rb") as f:
        head = f.read(_HEAD_BYTES)
        f.seek(max(0, path.stat().st_size - 8))
        tail = f.read()
    extension = path.suffix.lower()
    return Sniffed(_detect(head, tail, extension, path), extension, head)


def _detect(head: bytes, tail: bytes, extension: str, path: Path) -> str:
    if _PICKLE_BINARY.match(head):
        return "joblib" if extension in (".joblib", ".jbl") else "pickle"
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    if _ZLIB.match(head):
        return "joblib" if extension in (".joblib", ".jbl") else "zlib stream"
    if _PICKLE_TEXT.match(head) and tail.rstrip().endswith(b"."):
        return "pickle"
    if extension == ".onnx" and path.stat().st_size <= _MAX_PARSED and onnx_parameters(path.read_bytes()) is not None:
        return "onnx"  # protobuf can happen to be valid UTF-8: try it before reading text
    text = _as_text(head)
    if text is None:
        return "binary"
    stripped = text.lstrip("\ufeff \t\r\n")
    lowered = stripped[:4096].lower()
    if stripped.startswith("<"):
        if "<svg" in lowered:
            return "svg"
        if "<html" in lowered or "<!doctype html" in lowered or extension in EXTENSIONS["html"]:
            return "html"
        return "xml"
    if stripped[:1] in ("{", "["):
        return "json"
    return "csv" if extension == ".csv" or extension not in _TEXT_EXTENSIONS else "text"


_TEXT_EXTENSIONS = frozenset({".txt", ".log", ".md", ".py", ".r", ".sql", ".sh", ".tsv", ".xml", ".yaml", ".yml"})


def _as_text(head: bytes) -> str | None:
    if b"\x00" in head:
        return None
    for cut in range(4):  # the head may end inside a multi-byte character
        try:
            return head[: len(head) - cut].decode("utf-8")
        except UnicodeDecodeError:
            continue
    return None


# --- size and type -----------------------------------------------------------------------------------


def check_size(size: int, context: OutputContext) -> list[Finding]:
    """OpenSAFELY refuses files over 16 MiB before a human looks; so do we (R4.4a: no raw packages)."""
    if size > context.max_bytes:
        message = msg.FILE_TOO_LARGE.format(size=size, limit=context.max_bytes)
        return [finding("file_size", Outcome.FAIL, "R4.4a", Code.FILE_TOO_LARGE, message)]
    return [finding("file_size", Outcome.PASS, "R4.4a", Code.FILE_SIZE_OK, msg.FILE_SIZE_OK.format(size=size))]


def check_file_type(sniffed: Sniffed, context: OutputContext) -> list[Finding]:
    """Allow-list by content, extension agreeing with content, declared kind agreeing with type."""
    detected, extension = sniffed.detected, sniffed.extension
    exec_kind = CODE_EXECUTION_EXTENSIONS.get(extension)
    if detected in ("pickle", "joblib") or exec_kind:
        name = detected if detected in ("pickle", "joblib") else exec_kind
        message = msg.FILE_CODE_EXECUTION.format(detected=name)
        return [finding("file_type", Outcome.FAIL, "R4.4a", Code.FILE_CODE_EXECUTION, message)]
    if detected not in ALLOWED_TYPES:
        message = msg.FILE_TYPE_REFUSED.format(detected=detected)
        return [finding("file_type", Outcome.FAIL, "R4.4a", Code.FILE_TYPE_REFUSED, message)]
    if extension not in EXTENSIONS[detected]:
        message = msg.FILE_TYPE_MISMATCH.format(extension=extension or "(none)", detected=detected)
        return [finding("file_type", Outcome.FAIL, "R4.4a", Code.FILE_TYPE_MISMATCH, message)]
    if detected not in KIND_TYPES[context.kind]:
        message = msg.FILE_KIND_UNUSUAL.format(kind=context.kind, detected=detected)
        return [finding("file_type", Outcome.REVIEW, "R4.4a", Code.FILE_KIND_UNUSUAL, message)]
    return [finding("file_type", Outcome.PASS, "R4.4a", Code.FILE_TYPE_OK, msg.FILE_TYPE_OK.format(detected=detected))]


def unreadable(detected: str, error: object) -> Finding:
    message = msg.FILE_UNREADABLE.format(detected=detected, error=str(error)[:200])
    return finding("file_type", Outcome.FAIL, "R4.4a", Code.FILE_UNREADABLE, message)


# --- active content ----------------------------------------------------------------------------------

_RESOURCE_ATTRS = frozenset({"src", "href", "xlink:href", "data", "poster", "background", "srcset", "action"})
_SCRIPT_URL = re.compile(r"^\s*(?:javascript|vbscript|data:text/html|data:image/svg)", re.IGNORECASE)
_EXTERNAL_URL = re.compile(r"^\s*(?:[a-z][a-z0-9+.-]*:|//)", re.IGNORECASE)
_INLINE_IMAGE = re.compile(r"^\s*data:image/(?:png|jpeg|gif|webp)[;,]", re.IGNORECASE)
_CSS_URL = re.compile(r"url\(\s*['\"]?\s*([^'\")\s]*)", re.IGNORECASE)
_CSS_ACTIVE = re.compile(r"expression\s*\(|javascript:|behavior\s*:|-moz-binding", re.IGNORECASE)
_CSS_IMPORT = re.compile(r"@import", re.IGNORECASE)
_SVG_ACTIVE_TAGS = frozenset(
    {"script", "foreignobject", "iframe", "embed", "object", "handler", "listener", "audio", "video"}
)
_SVG_ANIMATION_TAGS = frozenset({"set", "animate", "animatemotion", "animatetransform", "discard"})
_HTML_ACTIVE_TAGS = frozenset(
    {"script", "iframe", "frame", "frameset", "object", "embed", "applet", "base", "form", "portal", "template"}
)
_ENTITIES = re.compile(r"<!DOCTYPE|<!ENTITY", re.IGNORECASE)
_XML_STYLESHEET = re.compile(r"<\?xml-stylesheet", re.IGNORECASE)


@dataclass
class _Scan:
    """Problems found while walking a document, and the text it shows (for the identifier scan)."""

    active: list[str]
    external: list[str]
    texts: list[str]

    def url(self, attr: str, value: str) -> None:
        if _SCRIPT_URL.match(value):
            self.active.append(f"{attr}={value.strip()[:20]}")
        elif _INLINE_IMAGE.match(value) or value.strip().startswith("#"):
            return
        elif _EXTERNAL_URL.match(value) or attr in ("src", "data", "poster", "background", "srcset"):
            self.external.append(f"{attr}={value.strip()[:60]}")

    def css(self, where: str, css: str) -> None:
        if _CSS_ACTIVE.search(css):
            self.active.append(f"{where}: CSS script")
        if _CSS_IMPORT.search(css):
            self.external.append(f"{where}: @import")
        for target in _CSS_URL.findall(css):
            if target and not target.startswith("#") and not _INLINE_IMAGE.match(target):
                self.external.append(f"{where}: url({target[:60]})")


def _content_findings(detected: str, scan: _Scan) -> list[Finding]:
    found = []
    if scan.active:
        what = ", ".join(sorted(set(scan.active))[:5])
        message = msg.ACTIVE_CONTENT.format(detected=detected, what=what)
        found.append(finding("active_content", Outcome.FAIL, "R1.1a", Code.ACTIVE_CONTENT, message))
    if scan.external:
        what = ", ".join(sorted(set(scan.external))[:5])
        message = msg.EXTERNAL_REFERENCE.format(detected=detected, what=what)
        found.append(finding("active_content", Outcome.FAIL, "R1.1a", Code.EXTERNAL_REFERENCE, message))
    if not found:
        found.append(finding("active_content", Outcome.PASS, "R1.1a", Code.CONTENT_OK, msg.CONTENT_OK))
    return found


def check_svg(text: str) -> tuple[list[Finding], list[str]]:
    """Sanitised SVG only: no script, foreignObject, event handler, external reference or entity."""
    if _ENTITIES.search(text):
        return [finding("active_content", Outcome.FAIL, "R1.1a", Code.ENTITY_DECLARATION, msg.ENTITY_DECLARATION)], []
    scan = _Scan([], [], [])
    if _XML_STYLESHEET.search(text):
        scan.external.append("xml-stylesheet")
    try:
        root = ElementTree.fromstring(text)  # noqa: S314 - DOCTYPE and entities are refused above
    except ElementTree.ParseError as exc:
        return [unreadable("svg", exc)], []
    for element in root.iter():
        tag = _local(element.tag).lower()
        if tag in _SVG_ACTIVE_TAGS:
            scan.active.append(f"<{tag}>")
        for raw_name, value in element.attrib.items():
            name = _local(raw_name).lower()
            if raw_name.startswith("{http://www.w3.org/1999/xlink}"):
                name = "xlink:" + name
            if name.startswith("on"):
                scan.active.append(f"{name}=")
            elif name in ("href", "xlink:href", "src"):
                scan.url(name, value)
            elif name == "style":
                scan.css("style", value)
            elif tag in _SVG_ANIMATION_TAGS and (value.lower() in ("href", "xlink:href") or _SCRIPT_URL.search(value)):
                scan.active.append(f"<{tag} {name}={value[:20]}>")
        if tag == "style" and element.text:
            scan.css("<style>", element.text)
        elif element.text and element.text.strip():
            scan.texts.append(element.text.strip())
        if element.tail and element.tail.strip():
            scan.texts.append(element.tail.strip())
    return _content_findings("svg", scan), scan.texts


def _local(tag: object) -> str:
    return str(tag).rsplit("}", 1)[-1]


class _HtmlWalker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.scan = _Scan([], [], [])
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        tag = tag.lower()
        if tag in _HTML_ACTIVE_TAGS:
            self.scan.active.append(f"<{tag}>")
        values = {name.lower(): value or "" for name, value in attrs}
        if tag == "meta" and values.get("http-equiv", "").lower() == "refresh":
            self.scan.active.append("<meta refresh>")
        for name, value in values.items():
            if name.startswith("on"):
                self.scan.active.append(f"{name}=")
            elif name == "style":
                self.scan.css("style", value)
            elif name in _RESOURCE_ATTRS or name == "formaction":
                if tag == "a" and name == "href" and not _SCRIPT_URL.match(value):
                    continue  # a hyperlink is followed by the reader, not fetched on opening
                self.scan.url(name, value)
        self._in_style = tag == "style"

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.scan.css("<style>", data)
        elif data.strip():
            self.scan.texts.append(data.strip())


def check_html(text: str) -> tuple[list[Finding], list[str]]:
    """A self-contained HTML report only: no script, frame, form, handler or external resource."""
    walker = _HtmlWalker()
    walker.feed(text)
    walker.close()
    return _content_findings("html", walker.scan), walker.scan.texts


_PDF_ACTIVE = re.compile(
    rb"/(JavaScript|JS|Launch|EmbeddedFiles?|RichMedia|XFA|SubmitForm|ImportData|GoToE)(?![A-Za-z])"
)
_PDF_LINK = re.compile(rb"/(URI|GoToR)(?![A-Za-z])")
_PDF_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
_PDF_STREAM = re.compile(rb"stream\r?\n(.*?)endstream", re.DOTALL)
_PDF_STRING = re.compile(rb"\(((?:[^()\\]|\\.){4,200})\)")


def check_pdf(data: bytes) -> tuple[list[Finding], list[str]]:
    """Refuse scripts, launch actions, embedded files; everything else a reviewer reads.

    Names may be hex-escaped (``/J#61vaScript``) and objects may sit in compressed object streams,
    so escapes are undone and Flate streams are inflated before looking."""
    parts = [data]
    for stream in _PDF_STREAM.findall(data):
        try:
            parts.append(zlib.decompressobj().decompress(stream, 10 * len(data) + 1_000_000))
        except zlib.error:
            continue
    scan = _Scan([], [], [])
    for part in parts:
        plain = _PDF_NAME_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), part)
        scan.active.extend("/" + m.decode() for m in _PDF_ACTIVE.findall(plain))
        scan.external.extend("/" + m.decode() for m in _PDF_LINK.findall(plain))
        scan.texts.extend(s.decode("latin-1") for s in _PDF_STRING.findall(plain))
    found = []
    if scan.active:
        what = ", ".join(sorted(set(scan.active)))
        message = msg.ACTIVE_CONTENT.format(detected="pdf", what=what)
        found.append(finding("active_content", Outcome.FAIL, "R1.1a", Code.ACTIVE_CONTENT, message))
    if scan.external:
        what = ", ".join(sorted(set(scan.external)))
        message = msg.EXTERNAL_REFERENCE.format(detected="pdf", what=what)
        found.append(finding("active_content", Outcome.REVIEW, "R1.1a", Code.EXTERNAL_REFERENCE, message))
    found.append(finding("active_content", Outcome.REVIEW, "R1.1a", Code.PDF_NEEDS_READING, msg.PDF_NEEDS_READING))
    return found, scan.texts


_PNG_TEXT = frozenset({b"tEXt", b"zTXt", b"iTXt", b"eXIf"})


def check_png(data: bytes) -> tuple[list[Finding], list[str]]:
    """Walk the chunks: text chunks need a reader, bytes after IEND are refused."""
    pos, keywords, texts = 8, [], []
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind in _PNG_TEXT:
            keyword, _, value = body.partition(b"\x00")
            keywords.append(f"{kind.decode('latin-1')}:{keyword[:40].decode('latin-1')}")
            if kind == b"tEXt":
                texts.append(value.decode("latin-1"))
            elif kind == b"iTXt":
                texts.append(value.rsplit(b"\x00", 1)[-1].decode("utf-8", "replace"))
        if kind == b"IEND":
            break
    found = []
    if pos < len(data):
        message = msg.PNG_TRAILING_DATA.format(size=len(data) - pos)
        found.append(finding("active_content", Outcome.FAIL, "R1.1a", Code.PNG_TRAILING_DATA, message))
    if keywords:
        message = msg.PNG_TEXT_CHUNKS.format(what=", ".join(keywords[:5]))
        found.append(finding("active_content", Outcome.REVIEW, "R1.1a", Code.PNG_TEXT_CHUNKS, message))
    if not found:
        found.append(finding("active_content", Outcome.PASS, "R1.1a", Code.CONTENT_OK, msg.CONTENT_OK))
    return found, texts
