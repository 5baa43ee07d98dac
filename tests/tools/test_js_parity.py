"""One rule definition, two evaluators: the browser's decode.js and core/lint.py must report
identical findings (ids, severities, messages, reasons, paths, in order) and decode identical
parts for every token in the corpus."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jwt as pyjwt
import pytest

from authwise import AccessTokenIssuer, PrivateKey
from authwise.core.lint import lint_token
from authwise.core.rules import rules_document

from .corpus import CORPUS, NOW, good_claims, make

HERE = Path(__file__).parent
DECODE_JS = HERE.parents[1] / "src" / "authwise" / "server" / "static" / "decode.js"
RUNNER = HERE / "decode_js_runner.js"
NODE = shutil.which("node")


def _extra_tokens() -> list[str]:
    key = PrivateKey.generate("ES256")
    issuer = AccessTokenIssuer(key, "https://auth.example.com")
    return [
        issuer.mint(sub="u1", audience="api", now=NOW, roles=["a"], tenant="t"),
        pyjwt.encode({"sub": "1", "exp": NOW + 90000}, key.to_pem(), algorithm="ES256"),
        make(payload=good_claims(name="Ada", nested={"deep": [{"email": "a@b.example"}]})),
        make(payload=good_claims(**{"1": "numeric key first in JS objects", "b": "x"})),
        make(payload=b'{"sub":"\\ud83d\\ude00","exp":1.5e9,"n":-0,"e":1E2}'),
        make(payload=b'{"a":"\\u0000","b":"\x7f","c":"\\/"}'),
        make(payload=b'{"a":"\x01"}'),
        make(payload=b'{"a":1,}'),
        make(payload=b'{"a":tru}'),
        make(payload=b'{"a":01}'),
        make(payload=b'{"a":"\\x"}'),
        make(payload=b'{"a":"\\ud800\\u0041"}'),
        make(payload=b'{"a":1 "b":2}'),
        make(payload=b'{"a" 1}'),
        make(payload=b'{"a":[1 2]}'),
        make(payload=b'{"a":"unterminated'),
        make(payload=b'{"a":[],"b":{}, "c" : [ ] , "d":{ }}'),
        make(payload=b"{} x"),
        make(payload=b'{"k":"' + "é".encode() * 5 + b'"}'),
        make(payload=b'{"a":"\\"}'),
        make(payload=b'{"\\"}":1}'),
        make(payload=b'{"a":{"x":1,"x":2},"a":3}'),
        make(payload=good_claims(contact="+1 (555) 010-0199\n", when="555-010-0199")),
        make(
            payload=good_claims(
                inner="eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2ln",
                hash="$argon2id$v=19$m=65536,t=3,p=4$abc",
                auth="Bearer abcdefghijklmnopqrstuvwxyz",
            )
        ),
        "eyJhbGciOiJFUzI1NiJ9\n.e30.AAAA",
        "x" * 140000,
        "\t" + make() + "\r\n",
    ]


def _run_js(tokens: list[str]) -> list[dict[str, Any]]:
    assert NODE is not None, "node is needed for the parity test (/usr/bin/node)"
    job = json.dumps({"rules": rules_document(), "now": NOW, "tokens": tokens})
    result = subprocess.run(
        [NODE, str(RUNNER), str(DECODE_JS)],
        input=job,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    out: list[dict[str, Any]] = json.loads(result.stdout)
    return out


@pytest.fixture(scope="module")
def tokens_and_js() -> tuple[list[str], list[dict[str, Any]]]:
    tokens = [token for _, token, _ in CORPUS] + _extra_tokens()
    return tokens, _run_js(tokens)


def test_python_and_javascript_agree(
    tokens_and_js: tuple[list[str], list[dict[str, Any]]],
) -> None:
    tokens, js_results = tokens_and_js
    assert len(js_results) == len(tokens)
    mismatches = []
    for i, (token, js) in enumerate(zip(tokens, js_results, strict=True)):
        report = lint_token(token, NOW)
        py_findings = [
            {
                "id": f.id,
                "severity": f.severity,
                "message": f.message,
                "reason": f.reason,
                "path": f.path,
            }
            for f in report.findings
        ]
        if py_findings != js["findings"]:
            mismatches.append((i, "findings", py_findings, js["findings"]))
        if report.header != js["header"] or report.payload != js["payload"]:
            mismatches.append(
                (i, "parts", (report.header, report.payload), (js["header"], js["payload"]))
            )
    assert mismatches == []


def test_corpus_covers_every_rule(tokens_and_js: tuple[list[str], list[dict[str, Any]]]) -> None:
    _, js_results = tokens_and_js
    fired = {f["id"] for result in js_results for f in result["findings"]}
    doc = rules_document()
    every = {r["id"] for key in ("lint_rules", "name_rules", "value_rules") for r in doc[key]}
    assert every == fired
