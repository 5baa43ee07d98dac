"""The error tree: one base class, a machine code and a generic message on every error."""

from __future__ import annotations

import inspect

import pytest

from authwise import errors

CLASSES = [getattr(errors, name) for name in errors.__all__]


def construct(cls: type[errors.AuthwiseError]) -> errors.AuthwiseError:
    """An instance built from placeholder values for the required arguments."""
    params = inspect.signature(cls.__init__).parameters.values()
    required = [p.name for p in params if p.name != "self" and p.default is p.empty]
    return cls(*[f"<{name}>" for name in required])


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_every_error_has_a_code_a_message_and_one_base(cls: type[errors.AuthwiseError]) -> None:
    assert issubclass(cls, errors.AuthwiseError)
    assert cls.code
    assert cls.code.replace("_", "").isalpha()
    assert cls.message
    error = construct(cls)
    assert str(error)
    assert isinstance(error, errors.AuthwiseError)


def test_codes_are_unique() -> None:
    codes = [cls.code for cls in CLASSES]
    assert len(codes) == len(set(codes))


def test_detail_defaults_and_attributes() -> None:
    assert errors.MalformedToken().detail is None
    assert str(errors.MalformedToken("why")) == "why"
    assert errors.InvalidClaim("aud").claim == "aud"
    assert errors.ExpiredToken().claim == "exp"
    violation = errors.PolicyViolation("rule-id", "detail", "claim")
    assert (violation.rule, violation.claim, str(violation)) == (
        "rule-id",
        "claim",
        "rule-id: detail",
    )
    assert issubclass(errors.ExpiredToken, errors.TokenError)
    assert not issubclass(errors.InvalidKey, errors.TokenError)
    assert not issubclass(errors.PolicyViolation, errors.TokenError)
