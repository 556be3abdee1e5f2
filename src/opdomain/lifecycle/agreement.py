"""The agreement (运营协议, rules 三.(八)) as a document, sealed with the contract seal (合同专用章).

Generated from the application: scope (scenarios, datasets, columns and purposes), term, pricing mode and
fees, security duties, exit and breach terms — as HTML (Jinja2) and PDF (ReportLab, built-in CID font
STSong-Light, no font file). The seal is an Ed25519 signature by ``keys/contract-seal.ed25519``, used
only by the authority through :func:`generate_and_seal` (permission ``agreement.seal``). Under the 国密
profile the seal would be SM2; no SM2 implementation is installed, so sealing is refused clearly.

The sealed file (``<id>.sealed.json``) is self-contained — see docs/agreement.md:

    {"format": "opdomain.sealed-agreement/1", "agreement_id", "application_id",
     "documents": {"html": base64, "pdf": base64}, "digests": {"html": sha256, "pdf": sha256},
     "seal": {"algorithm": "ed25519", "public_key": hex, "key_id", "sealed_by", "sealed_at"},
     "signature": hex}

The signature covers the canonical JSON (sorted keys, no spaces, ASCII) of everything but ``signature``,
and the file must be byte-for-byte the canonical JSON of its own content plus one newline: so changing
any byte of the file — content, whitespace, key order, hex case — makes :func:`verify_sealed` fail.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.orm import Session

from opdomain.errors import DomainError
from opdomain.identity.service import Principal, authorize
from opdomain.lifecycle import messages_process as pmsg
from opdomain.lifecycle import policy_process as rules
from opdomain.lifecycle.models_process import Agreement
from opdomain.runtime import Runtime
from opdomain.store import keys
from opdomain.store.db import new_id

FORMAT = "opdomain.sealed-agreement/1"
SEAL_KEY = "contract-seal"
_env = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                   autoescape=select_autoescape(["html"]))


def seal_key(rt: Runtime) -> Ed25519PrivateKey:
    if rt.settings.crypto_profile == "gm":
        raise DomainError("agreement.sm2_unavailable", pmsg.SM2_UNAVAILABLE, status=501,
                          details={"rule": "R3.8"})
    return keys.signing_key(rt.settings.keys_dir, SEAL_KEY)


def public_key_hex(public: Ed25519PublicKey) -> str:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def agreement_facts(view: Any, *, number: str, algorithm: str, key_id: str) -> dict[str, Any]:
    """What the document says, from an ``ApplicationView``."""
    consent = "、".join({"person": "个人", "enterprise": "企业"}.get(c, c) for c in view.consent_subjects)
    return {
        "number": number, "application_id": view.id, "grantor": "温州市人民政府", "authority": "公共数据主管部门",
        "operator_name": view.operator_name, "operator_code": view.operator_code, "scenarios": view.scenarios,
        "requirements": view.requirements, "starts_on": view.starts_on.isoformat(),
        "ends_on": view.ends_on.isoformat(),
        "renewal_deadline": rules.renewal_deadline(view.ends_on).isoformat(), "pricing_mode": view.pricing_mode,
        "pricing_zh": rules.PRICING_MODES.get(view.pricing_mode, view.pricing_mode), "fees": view.fees,
        "consent": f"须{consent}数据主体授权同意" if consent else "仅使用脱敏数据",
        "expert_conclusion": view.expert_conclusion, "decision_reasons": view.decision_reasons,
        "publicity": f"{view.publicity_starts_on} 至 {view.publicity_ends_on}",
        "filing_reference": view.filing_reference, "algorithm": algorithm, "key_id": key_id,
    }


def render_html(facts: dict[str, Any]) -> str:
    return _env.get_template("agreement.html").render(a=facts)


def render_pdf(facts: dict[str, Any]) -> bytes:
    from xml.sax.saxutils import escape

    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    if "STSong-Light" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    body = ParagraphStyle("body", fontName="STSong-Light", fontSize=10.5, leading=16, wordWrap="CJK")
    head = ParagraphStyle("head", parent=body, fontSize=13, leading=20, spaceBefore=8)
    title = ParagraphStyle("title", parent=body, fontSize=17, leading=26, alignment=1)

    def p(text: str, style: ParagraphStyle = body) -> Paragraph:
        return Paragraph(escape(str(text)), style)

    f = facts
    story: list[Any] = [p("公共数据授权运营协议", title),
                        p(f"协议编号 {f['number']}    申请编号 {f['application_id']}"),
                        p(f"甲方（授权主体）：{f['grantor']}（由{f['authority']}代为实施）"),
                        p(f"乙方（授权运营单位）：{f['operator_name']}（{f['operator_code']}）"), Spacer(1, 6),
                        p("第一条 授权运营范围", head)]
    for s in f["scenarios"]:
        story.append(p(f"应用场景：{s['name']}（{s['domain_area']}）。目标和计划：{s['goals']}；{s['plan']}。"
                       f"安全保障措施：{s['security_measures']}。"))
    for r in f["requirements"]:
        cols = "；".join(f"{c}（用途：{purpose}）" for c, purpose in r["columns"].items())
        story.append(p(f"数据集 {r['dataset']}：{cols}"))
    story += [p(f"涉及个人信息、商业秘密的数据：{f['consent']}。"), p("第二条 授权运营期限", head),
              p(f"自 {f['starts_on']} 起至 {f['ends_on']} 止（不超过 3 年）；"
                f"续期申请须在 {f['renewal_deadline']} 前提出。"),
              p("第三条 授权方式与定价", head), p(f"定价方式：{f['pricing_zh']}。收费标准：{f['fees'] or '无'}。"),
              p("第四条 数据安全责任", head),
              p("原始数据不出域；加工人员实名认证、通过岗前培训考核并签署保密协议；全程审计；一授权一预案。"),
              p("第五条 退出与终止", head),
              p("期限届满、提前注销或撤销时，即时撤销运营域权限，删除域内留存数据（销毁密钥），"
                "网络日志留存不少于 6 个月。"),
              p("第六条 违约责任", head), p("违反协议的，按整改通知书在 30 日内整改；情节严重的，暂停权限或撤销授权。"),
              p("审查与备案", head),
              p(f"专家审查意见：{f['expert_conclusion']}；终审意见：{f['decision_reasons']}；"
                f"公示 {f['publicity']}；备案文号 {f['filing_reference']}。"),
              Spacer(1, 12), p(f"合同专用章（数字签名 {f['algorithm']}，密钥 {f['key_id']}）：见封装文件 .sealed.json，"
                               "以 opdomain agreement verify 校验。")]
    buf = io.BytesIO()
    SimpleDocTemplate(buf, pagesize=A4, title=f"公共数据授权运营协议 {f['number']}", invariant=1).build(story)
    return buf.getvalue()


def canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def seal_envelope(signer: Ed25519PrivateKey, *, agreement_id: str, application_id: str, html: bytes, pdf: bytes,
                  sealed_by: str, sealed_at: str) -> tuple[bytes, str, str]:
    """The sealed file's bytes, the digest of the signed payload and the signature (hex)."""
    public = signer.public_key()
    body = {
        "format": FORMAT, "agreement_id": agreement_id, "application_id": application_id,
        "documents": {"html": base64.b64encode(html).decode(), "pdf": base64.b64encode(pdf).decode()},
        "digests": {"html": hashlib.sha256(html).hexdigest(), "pdf": hashlib.sha256(pdf).hexdigest()},
        "seal": {"algorithm": "ed25519", "public_key": public_key_hex(public), "key_id": keys.public_key_id(public),
                 "sealed_by": sealed_by, "sealed_at": sealed_at},
    }
    payload = canonical(body)
    signature = signer.sign(payload).hex()
    return canonical({**body, "signature": signature}) + b"\n", hashlib.sha256(payload).hexdigest(), signature


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    problem: str = ""
    agreement_id: str = ""
    key_id: str = ""
    sealed_by: str = ""
    sealed_at: str = ""
    trusted_key: bool = False


def verify_sealed(data: bytes, *, trusted_public_key: str | None = None) -> VerifyResult:
    """Checks a sealed file: canonical form, document digests, the Ed25519 signature; and, when given,
    that the seal's key is the authority's (``trusted_public_key``, 64 hex digits)."""
    try:
        env = json.loads(data.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        return VerifyResult(False, "not a sealed agreement (not canonical ASCII JSON)")
    if not isinstance(env, dict) or env.get("format") != FORMAT:
        return VerifyResult(False, "unknown format")
    if canonical(env) + b"\n" != data:
        return VerifyResult(False, "the file is not in its canonical form: it was changed")
    try:
        signature, seal = env.pop("signature"), env["seal"]
        if not isinstance(signature, str) or signature != signature.lower() or len(signature) != 128:
            return VerifyResult(False, "malformed signature")
        for name in ("html", "pdf"):
            doc = base64.b64decode(env["documents"][name], validate=True)
            if base64.b64encode(doc).decode() != env["documents"][name]:
                return VerifyResult(False, f"non-canonical base64 in {name}")
            if hashlib.sha256(doc).hexdigest() != env["digests"][name]:
                return VerifyResult(False, f"the {name} document does not match its digest")
        if seal.get("algorithm") != "ed25519":
            return VerifyResult(False, f"unsupported seal algorithm {seal.get('algorithm')}")
        public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(seal["public_key"]))
        public.verify(bytes.fromhex(signature), canonical(env))
    except InvalidSignature:
        return VerifyResult(False, "the signature does not verify")
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        return VerifyResult(False, f"malformed sealed file ({type(exc).__name__})")
    trusted = trusted_public_key is not None and trusted_public_key.lower() == seal["public_key"]
    if trusted_public_key is not None and not trusted:
        return VerifyResult(False, "sealed with a key that is not the authority's contract seal",
                            env["agreement_id"], seal["key_id"])
    return VerifyResult(True, "", env["agreement_id"], seal["key_id"], seal["sealed_by"], seal["sealed_at"], trusted)


def generate_and_seal(rt: Runtime, principal: Principal, s: Session, view: Any) -> tuple[Agreement, list[Path]]:
    """Writes the HTML, PDF and sealed file of the application's agreement and records it (inside the
    caller's transaction; the caller deletes the files if the transaction fails)."""
    authorize(rt, principal, "agreement.seal", object_type="application", object_id=view.id)
    signer = seal_key(rt)
    agreement_id = new_id()
    number = f"WZ-SJSQ-{datetime.now(UTC):%Y}-{agreement_id[:8].upper()}"
    key_id = keys.public_key_id(signer.public_key())
    facts = agreement_facts(view, number=number, algorithm="ed25519", key_id=key_id)
    html, pdf = render_html(facts).encode(), render_pdf(facts)
    sealed_at = datetime.now(UTC).isoformat(timespec="seconds")
    sealed, digest, signature = seal_envelope(signer, agreement_id=agreement_id, application_id=view.id, html=html,
                                              pdf=pdf, sealed_by=principal.username, sealed_at=sealed_at)
    rel = Path("agreements") / agreement_id
    folder = rt.settings.data_dir / rel
    folder.mkdir(parents=True, exist_ok=True)
    files = [folder / "agreement.html", folder / "agreement.pdf", folder / f"{agreement_id}.sealed.json"]
    for path, content in zip(files, (html, pdf, sealed), strict=True):
        path.write_bytes(content)
    row = Agreement(id=agreement_id, application_id=view.id, digest=digest, algorithm="ed25519", key_id=key_id,
                    signature=signature, sealed_path=str(rel / files[2].name), html_path=str(rel / files[0].name),
                    pdf_path=str(rel / files[1].name), sealed_by=principal.username)
    s.add(row)
    s.flush()
    return row, files


def sealed_path(rt: Runtime, agreement_id: str) -> Path:
    with rt.store.session() as s:
        row = s.get(Agreement, agreement_id)
        if row is None:
            from opdomain.errors import NotFound

            raise NotFound("agreement.not_found", pmsg.AGREEMENT_NOT_FOUND.format(id=agreement_id))
        return rt.settings.data_dir / row.sealed_path


def authority_public_key(rt: Runtime) -> str:
    return public_key_hex(seal_key(rt).public_key())
