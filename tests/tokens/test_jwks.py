"""JWK Sets: the public keys a verifier trusts (J21 hygiene)."""

from __future__ import annotations

import json

import pytest

from authwise import InvalidKey, KeySet, PrivateKey, PublicKey
from authwise.core.jwks import MAX_JWKS_BYTES, MAX_JWKS_KEYS


@pytest.fixture(scope="module")
def many_keys() -> list[PrivateKey]:
    return [PrivateKey.generate("Ed25519") for _ in range(MAX_JWKS_KEYS + 1)]


def test_mapping_by_kid(es256: PrivateKey, ed25519: PrivateKey) -> None:
    keys = KeySet([es256.public, ed25519.public])
    assert len(keys) == 2
    assert list(keys) == [es256.kid, ed25519.kid]
    assert keys[es256.kid] == es256.public
    assert keys.find(ed25519.kid) == ed25519.public
    assert keys.find("unknown") is None
    with pytest.raises(KeyError):
        keys["unknown"]
    assert repr(keys) == f"KeySet([{es256.kid!r}, {ed25519.kid!r}])"
    assert len(KeySet()) == 0


def test_published_jwks_has_only_public_members_with_kid_alg_and_use(
    es256: PrivateKey, ed25519: PrivateKey, rs256: PrivateKey
) -> None:
    """J21: every published key is a public asymmetric key with kid, alg and use: sig."""
    document = KeySet([es256.public, ed25519.public, rs256.public]).to_jwks()
    assert len(document["keys"]) == 3
    for jwk in document["keys"]:
        assert jwk["kty"] in {"EC", "OKP", "RSA"}
        assert jwk["use"] == "sig"
        assert jwk["alg"] in {"ES256", "Ed25519", "RS256"}
        assert jwk["kid"]
        assert not {"d", "p", "q", "dp", "dq", "qi", "k"} & jwk.keys()
    again = KeySet.from_jwks(json.dumps(document))
    assert dict(again) == {k.kid: k.public for k in (es256, ed25519, rs256)}


def test_duplicate_kids_are_refused(es256: PrivateKey) -> None:
    with pytest.raises(InvalidKey, match="duplicate kid"):
        KeySet([es256.public, PublicKey.from_jwk(es256.to_jwk())])
    jwk = es256.to_jwk()
    with pytest.raises(InvalidKey, match="duplicate kid"):
        KeySet.from_jwks({"keys": [jwk, jwk]})


def test_a_set_holds_at_most_64_keys(many_keys: list[PrivateKey]) -> None:
    assert len(KeySet(k.public for k in many_keys[:MAX_JWKS_KEYS])) == MAX_JWKS_KEYS
    with pytest.raises(InvalidKey, match="at most"):
        KeySet(k.public for k in many_keys)
    with pytest.raises(InvalidKey, match="more than"):
        KeySet.from_jwks({"keys": [k.to_jwk() for k in many_keys]})


def test_from_jwks_accepts_bytes_text_and_mappings(es256: PrivateKey) -> None:
    document = {"keys": [es256.to_jwk()]}
    text = json.dumps(document)
    for form in (document, text, text.encode()):
        assert KeySet.from_jwks(form).find(es256.kid) == es256.public


def test_oversized_documents_are_refused_before_parsing() -> None:
    with pytest.raises(InvalidKey, match="too large"):
        KeySet.from_jwks(b"{" + b" " * MAX_JWKS_BYTES + b"}")


@pytest.mark.parametrize(
    "document",
    [b"not json", b"[]", b'{"keys":1,"keys":[]}', '{"keys": []}\x00'],
)
def test_non_object_documents_are_refused(document: bytes | str) -> None:
    with pytest.raises(InvalidKey, match="JSON object"):
        KeySet.from_jwks(document)


@pytest.mark.parametrize("document", [[], None, 1])
def test_documents_must_be_objects(document: object) -> None:
    with pytest.raises(InvalidKey, match="JSON object"):
        KeySet.from_jwks(document)  # type: ignore[arg-type]


@pytest.mark.parametrize("keys", [None, {}, "[]", 1])
def test_keys_must_be_an_array(keys: object) -> None:
    with pytest.raises(InvalidKey, match="array"):
        KeySet.from_jwks({"keys": keys} if keys is not None else {})


def test_every_entry_must_be_an_object_with_a_kid(es256: PrivateKey) -> None:
    with pytest.raises(InvalidKey, match="object"):
        KeySet.from_jwks({"keys": ["x"]})
    jwk = {k: v for k, v in es256.to_jwk().items() if k != "kid"}
    with pytest.raises(InvalidKey, match="kid"):
        KeySet.from_jwks({"keys": [jwk]})


def test_one_bad_key_fails_the_whole_set(es256: PrivateKey, ed25519: PrivateKey) -> None:
    """A set mixing public and private keys, or holding an oct key, is refused outright."""
    private = ed25519.to_jwk(include_private=True)
    with pytest.raises(InvalidKey, match="private"):
        KeySet.from_jwks({"keys": [es256.to_jwk(), private]})
    oct_key = {"kty": "oct", "kid": "h", "alg": "HS256"}  # even without its secret "k"
    with pytest.raises(InvalidKey, match="oct"):
        KeySet.from_jwks({"keys": [es256.to_jwk(), oct_key]})


def test_legacy_eddsa_only_when_allowed(ed25519: PrivateKey) -> None:
    document = {"keys": [dict(ed25519.to_jwk(), alg="EdDSA")]}
    with pytest.raises(InvalidKey):
        KeySet.from_jwks(document)
    assert KeySet.from_jwks(document, allow_legacy_eddsa=True)[ed25519.kid].alg == "EdDSA"
