"""SCRAM-SHA-256 server side against RFC 7677's worked example, plus the
ways a client exchange can go wrong. Live checks with libpq/psycopg are in
tests/test_protocol_auth.py."""

from __future__ import annotations

import base64

import pytest

from aiondb import errors
from aiondb.wire.scram import ScramExchange, ScramVerifier

# RFC 7677 section 3: user "user", password "pencil".
RFC_SALT = base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ==")
RFC_CLIENT_FIRST = b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
RFC_SERVER_NONCE = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
RFC_SERVER_FIRST = (b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                    b"s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
RFC_CLIENT_FINAL = (b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                    b"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
RFC_SERVER_FINAL = b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="


def rfc_exchange(password: str = "pencil", known: bool = True) -> ScramExchange:
    verifier = ScramVerifier.from_password(password, RFC_SALT, 4096) if known else None
    return ScramExchange("user", verifier, server_nonce=RFC_SERVER_NONCE)


def test_rfc7677_example() -> None:
    ex = rfc_exchange()
    assert ex.client_first(RFC_CLIENT_FIRST) == RFC_SERVER_FIRST
    assert ex.client_final(RFC_CLIENT_FINAL) == RFC_SERVER_FINAL
    assert ex.done


def test_rfc7677_proof_with_another_password_fails() -> None:
    ex = rfc_exchange("pencil2")
    ex.client_first(RFC_CLIENT_FIRST)
    with pytest.raises(errors.InvalidPassword, match='password authentication failed for '
                                                     'user "user"'):
        ex.client_final(RFC_CLIENT_FINAL)
    assert not ex.done


def test_unknown_user_runs_the_exchange_and_fails_at_the_end() -> None:
    ex = rfc_exchange(known=False)
    first = ex.client_first(RFC_CLIENT_FIRST)
    assert first.startswith(b"r=rOprNGfwEbeRWgbNEkqO" + RFC_SERVER_NONCE.encode() + b",s=")
    with pytest.raises(errors.InvalidPassword):
        ex.client_final(RFC_CLIENT_FINAL)
    # The mock salt is stable per user name, like a real user's.
    again = rfc_exchange(known=False).client_first(RFC_CLIENT_FIRST)
    assert again == first


def test_verifier_text_matches_postgres_format() -> None:
    v = ScramVerifier.from_password("pencil", RFC_SALT, 4096)
    assert v.to_text().startswith("SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$")
    assert len(v.stored_key) == len(v.server_key) == 32


@pytest.mark.parametrize(("first", "error"), [
    (b"p=tls-server-end-point,,n=user,r=abc", errors.ProtocolViolation),
    (b"x,,n=user,r=abc", errors.ProtocolViolation),
    (b"n,a=admin,n=user,r=abc", errors.FeatureNotSupported),
    (b"n,,n=user", errors.ProtocolViolation),
    (b"n,,r=abc", errors.ProtocolViolation),
    (b"n,,garbage", errors.ProtocolViolation),
    (b"n,", errors.ProtocolViolation),
    (b"n,,n=user,r=\xff", errors.ProtocolViolation),
])
def test_bad_client_first(first: bytes, error: type) -> None:
    with pytest.raises(error):
        rfc_exchange().client_first(first)


@pytest.mark.parametrize("final", [
    b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",          # no proof
    b"c=eSws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=AAAA",   # wrong cbind
    b"c=biws,r=rOprNGfwEbeRWgbNEkqO,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",  # nonce
    b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=!!!",    # not base64
    b"\xff",
])
def test_bad_client_final(final: bytes) -> None:
    ex = rfc_exchange()
    ex.client_first(RFC_CLIENT_FIRST)
    with pytest.raises(errors.ProtocolViolation):
        ex.client_final(final)
    assert not ex.done


def test_short_proof_is_a_failed_password() -> None:
    ex = rfc_exchange()
    ex.client_first(RFC_CLIENT_FIRST)
    with pytest.raises(errors.InvalidPassword):
        ex.client_final(b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=AAAA")
