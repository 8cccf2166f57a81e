"""SCRAM-SHA-256 server side (RFC 5802 / RFC 7677), as PostgreSQL runs it.

Sans-IO: feed the client's SASL messages, get the server's replies. The
username inside the SCRAM exchange is ignored (PostgreSQL uses the startup
packet's user). Channel binding (-PLUS) is not offered because TLS is not.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from aiondb import errors

MECHANISM = "SCRAM-SHA-256"
DEFAULT_ITERATIONS = 4096


@dataclass(frozen=True)
class ScramVerifier:
    """What the server stores instead of the password."""

    salt: bytes
    iterations: int
    stored_key: bytes
    server_key: bytes

    @classmethod
    def from_password(cls, password: str, salt: bytes | None = None,
                      iterations: int = DEFAULT_ITERATIONS) -> ScramVerifier:
        salt = salt if salt is not None else secrets.token_bytes(16)
        salted = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
        client_key = hmac.digest(salted, b"Client Key", "sha256")
        server_key = hmac.digest(salted, b"Server Key", "sha256")
        return cls(salt, iterations, hashlib.sha256(client_key).digest(), server_key)

    def to_text(self) -> str:
        """PostgreSQL's rolpassword format: SCRAM-SHA-256$iter:salt$stored:server."""
        b64 = base64.b64encode
        return (f"SCRAM-SHA-256${self.iterations}:{b64(self.salt).decode()}$"
                f"{b64(self.stored_key).decode()}:{b64(self.server_key).decode()}")


# Unknown users get a salt that is stable per name (as PostgreSQL's
# scram_mock_salt), so repeated attempts cannot tell them from real users.
_MOCK_KEY = secrets.token_bytes(32)


def _mock_verifier(user: str) -> ScramVerifier:
    salt = hmac.digest(_MOCK_KEY, user.encode("utf-8", "surrogateescape"), "sha256")[:16]
    return ScramVerifier(salt, DEFAULT_ITERATIONS, secrets.token_bytes(32),
                         secrets.token_bytes(32))


def _auth_failed(user: str) -> errors.DatabaseError:
    return errors.InvalidPassword(f'password authentication failed for user "{user}"')


def _parse_attrs(text: str, what: str) -> list[tuple[str, str]]:
    out = []
    for part in text.split(","):
        if len(part) < 2 or part[1] != "=":
            raise errors.ProtocolViolation(f"malformed SCRAM message ({what}): {text!r}")
        out.append((part[0], part[2:]))
    return out


class ScramExchange:
    """One authentication attempt. `verifier` None means unknown user: the
    exchange runs against a mock verifier and fails at the end, as PostgreSQL
    does, so the reply does not reveal which users exist."""

    def __init__(self, user: str, verifier: ScramVerifier | None,
                 server_nonce: str | None = None) -> None:
        self.user = user
        # Fixed only by tests replaying RFC 7677's example; random otherwise.
        self._server_nonce = server_nonce or base64.b64encode(secrets.token_bytes(18)).decode()
        self.known = verifier is not None
        self.verifier = verifier or _mock_verifier(user)
        self._nonce = ""
        self._client_first_bare = ""
        self._server_first = ""
        self._gs2_header = ""
        self.done = False

    def client_first(self, data: bytes) -> bytes:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise errors.ProtocolViolation("malformed SCRAM message: not UTF-8") from None
        # gs2-header: cbind-flag "," [authzid] ","
        parts = text.split(",", 2)
        if len(parts) != 3:
            raise errors.ProtocolViolation("malformed SCRAM message (client-first)")
        flag, authzid, bare = parts
        if flag.startswith("p="):
            raise errors.ProtocolViolation(
                "SCRAM channel binding was requested but is not supported (no TLS)")
        if flag not in ("n", "y"):
            raise errors.ProtocolViolation(f"malformed SCRAM message: bad GS2 flag {flag!r}")
        if authzid:
            raise errors.FeatureNotSupported("client uses authorization identity, "
                                             "but it is not supported")
        attrs = dict(_parse_attrs(bare, "client-first"))
        cnonce = attrs.get("r")
        if not cnonce or "n" not in attrs:
            raise errors.ProtocolViolation("malformed SCRAM message: missing nonce or user")
        self._gs2_header = f"{flag},{authzid},"
        self._client_first_bare = bare
        self._nonce = cnonce + self._server_nonce
        v = self.verifier
        self._server_first = (f"r={self._nonce},s={base64.b64encode(v.salt).decode()},"
                              f"i={v.iterations}")
        return self._server_first.encode()

    def client_final(self, data: bytes) -> bytes:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise errors.ProtocolViolation("malformed SCRAM message: not UTF-8") from None
        if ",p=" not in text:
            raise errors.ProtocolViolation("malformed SCRAM message: missing proof")
        without_proof, proof_b64 = text.rsplit(",p=", 1)
        attrs = dict(_parse_attrs(without_proof, "client-final"))
        expected_cbind = base64.b64encode(self._gs2_header.encode()).decode()
        if attrs.get("c") != expected_cbind:
            raise errors.ProtocolViolation("SCRAM channel binding check failed")
        if attrs.get("r") != self._nonce:
            raise errors.ProtocolViolation("SCRAM nonce mismatch")
        try:
            proof = base64.b64decode(proof_b64, validate=True)
        except ValueError:
            raise errors.ProtocolViolation("malformed SCRAM proof") from None
        auth_message = ",".join((self._client_first_bare, self._server_first,
                                 without_proof)).encode()
        v = self.verifier
        signature = hmac.digest(v.stored_key, auth_message, "sha256")
        if len(proof) != len(signature):
            raise _auth_failed(self.user)
        client_key = bytes(a ^ b for a, b in zip(proof, signature, strict=True))
        if not self.known or not hmac.compare_digest(hashlib.sha256(client_key).digest(),
                                                     v.stored_key):
            raise _auth_failed(self.user)
        self.done = True
        server_sig = hmac.digest(v.server_key, auth_message, "sha256")
        return b"v=" + base64.b64encode(server_sig)
