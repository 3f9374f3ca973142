"""vidforge.identity: tokens, digests, roles, bearer parsing."""

from __future__ import annotations

import pytest

from vidforge.identity import Principal, Role, bearer_token, hash_token, new_token, same_secret


def test_tokens_are_random_prefixed_and_stored_as_digests() -> None:
    (a, digest_a), (b, _) = new_token(), new_token()
    assert a != b and a.startswith("vf_") and len(a) >= 40
    assert digest_a == hash_token(a) and len(digest_a) == 64 and a not in digest_a


def test_roles_are_ordered_and_parsed() -> None:
    assert Role.parse(" Approver ") is Role.APPROVER and Role.APPROVER.label == "approver"
    assert Principal("x", Role.ADMIN).can(Role.OPERATOR) and not Principal("y", Role.VIEWER).can(Role.OPERATOR)
    with pytest.raises(ValueError, match="choose one of viewer, operator, approver, admin"):
        Role.parse("root")


@pytest.mark.parametrize(
    ("header", "token"),
    [("Bearer vf_abc", "vf_abc"), ("bearer  vf_abc ", "vf_abc"), (None, None), ("", None), ("Bearer", None),
     ("Basic dXNlcg==", None), ("Bearer " + "x" * 257, None)],
)
def test_bearer_token(header: str | None, token: str | None) -> None:
    assert bearer_token(header) == token


def test_same_secret() -> None:
    assert same_secret("abc", "abc") and not same_secret("abc", "abd")
