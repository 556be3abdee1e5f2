"""The signed release manifest (R5.1b, R4.5a): canonical, signed, and any edited file named."""

from __future__ import annotations

import json
import sys

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from opdomain.egress.manifest import (
    build_manifest,
    file_digests,
    sign_manifest,
    sm3_hex,
    verify_files,
    verify_manifest,
)
from opdomain.errors import InvalidInput
from opdomain.store.keys import public_key_id


@pytest.fixture
def release_folder(tmp_path):
    folder = tmp_path / "release"
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "grades.csv").write_text("category,grade,n\n规上,A,39\n", encoding="utf-8")
    (folder / "README.md").write_text("等级分布\n", encoding="utf-8")
    return folder


def _release(folder) -> dict:
    return {
        "release_id": "rel-2023-001",
        "grant": {"id": "G-1", "scenario": "泵阀共富贷融资能力评价"},
        "job": {"id": "J-7", "run": 3},
        "code_digest": "sha256:" + "ab" * 32,
        "inputs": [{"dataset": "tax.annual_tax", "version": 2}, {"dataset": "eit.mu_efficiency", "version": 1}],
        "checks": [{"code": "min_count.ok", "outcome": "pass", "rule": "R4.4a"}],
        "reviewers": [{"id": "u-1", "decision": "approve"}, {"id": "u-2", "decision": "approve"}],
        "files": file_digests(folder),
        "recipient": {"id": "bank-03", "name": "永嘉农商银行"},
    }


def test_the_manifest_is_canonical_json(release_folder):
    release = _release(release_folder)
    first = build_manifest(release)
    shuffled = dict(reversed(list(release.items())))
    shuffled["files"] = list(reversed(release["files"]))
    assert build_manifest(shuffled) == first
    text = first.decode("utf-8")
    assert "永嘉农商银行" in text and ": " not in text and ", " not in text
    assert list(json.loads(first)) == sorted(json.loads(first))


def test_file_digests_hold_sha256_and_sm3(release_folder):
    entry = next(e for e in file_digests(release_folder) if e["path"] == "data/grades.csv")
    data = (release_folder / "data" / "grades.csv").read_bytes()
    assert entry["sm3"] == sm3_hex(data) and entry["size"] == len(data)
    assert sm3_hex(b"abc") == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"  # GB/T 32905 A.1


def test_a_signed_manifest_verifies_and_an_edited_one_does_not(release_folder):
    key = Ed25519PrivateKey.generate()
    manifest = build_manifest(_release(release_folder))
    signature = sign_manifest(manifest, key)
    assert signature["algorithm"] == "ed25519" and signature["key_id"] == public_key_id(key.public_key())
    assert verify_manifest(manifest, signature, key.public_key())
    assert not verify_manifest(manifest.replace(b"bank-03", b"bank-04"), signature, key.public_key())
    assert not verify_manifest(manifest, signature, Ed25519PrivateKey.generate().public_key())
    assert not verify_manifest(manifest, {**signature, "signature": "not base64!"}, key.public_key())


def test_an_unchanged_folder_has_no_problems(release_folder):
    assert verify_files(build_manifest(_release(release_folder)), release_folder) == []


def test_a_changed_missing_or_added_file_is_named(release_folder):
    manifest = build_manifest(_release(release_folder))
    (release_folder / "data" / "grades.csv").write_text("category,grade,n\n规上,A,3\n", encoding="utf-8")
    (release_folder / "README.md").unlink()
    (release_folder / "extra.csv").write_text("x\n", encoding="utf-8")
    (release_folder / "manifest.json").write_bytes(manifest)  # the manifest itself may sit beside
    problems = {(p.path, p.code) for p in verify_files(manifest, release_folder)}
    assert problems == {("data/grades.csv", "changed"), ("README.md", "missing"), ("extra.csv", "unexpected")}


def test_a_manifest_needs_every_field_and_two_reviewers(release_folder):
    release = _release(release_folder)
    with pytest.raises(InvalidInput) as missing:
        build_manifest({k: v for k, v in release.items() if k != "recipient"})
    assert missing.value.code == "manifest.missing_fields"
    with pytest.raises(InvalidInput) as reviewers:
        build_manifest({**release, "reviewers": [{"id": "u-1"}, {"id": "u-1"}]})
    assert reviewers.value.code == "manifest.reviewers"


@pytest.mark.parametrize("path", ["../outside.csv", "/etc/passwd", "a\\b.csv", "./a.csv"])
def test_file_paths_must_stay_inside_the_release(release_folder, path):
    release = _release(release_folder)
    release["files"] = [{**release["files"][0], "path": path}]
    with pytest.raises(InvalidInput):
        build_manifest(release)


def test_sm2_without_gmssl_is_a_clear_error(release_folder, monkeypatch):
    monkeypatch.setitem(sys.modules, "gmssl", None)  # gmssl is not a dependency: make its absence certain
    with pytest.raises(InvalidInput) as error:
        sign_manifest(build_manifest(_release(release_folder)), ("00", "00"), algorithm="sm2")
    assert error.value.code == "manifest.sm2_unavailable"
    assert "gmssl" in error.value.message.en


def test_an_unknown_algorithm_is_refused(release_folder):
    with pytest.raises(InvalidInput):
        sign_manifest(b"{}", Ed25519PrivateKey.generate(), algorithm="rsa")
