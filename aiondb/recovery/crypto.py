"""Encryption at rest: the master key, per-tenant data keys and sealing.

- The master key (AIONDB_MASTER_KEY or a key file: 64 hex characters or
  base64 of 32 bytes) never encrypts data itself. Sub-keys are derived from
  it with HKDF: one wraps tenant data keys, one authenticates the cluster
  file, one gives the public fingerprint that error messages name.
- Each tenant has a random 256-bit data key, stored only wrapped
  (AES-256-GCM, bound to the tenant oid and key id) in the cluster file.
- `Sealer` seals WAL payloads and checkpoint chunks with AES-256-GCM. The
  caller supplies the 12-byte nonce and the associated data; both bind the
  sealed bytes to their tenant and position (LSN, or file and chunk number),
  so nothing can be moved, swapped or reordered without detection.
- `PlainSealer` is the unencrypted mode (allow_unencrypted_storage): same
  interface, no cryptography; integrity then rests on CRC-32C.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from aiondb import errors

KEY_LEN = 32
NONCE_LEN = 12
TAG_LEN = 16
ALGORITHM = "aes-256-gcm"


class MasterKeyError(errors.ConfigFileError):
    """A master key problem: missing, malformed or not the data directory's."""


class TamperedError(errors.DataCorrupted):
    """Sealed bytes failed authentication (changed, moved or wrong key)."""


def parse_master_key(text: str, source: str) -> bytes:
    """64 hex characters, or base64 (standard or URL-safe) of 32 bytes."""
    t = text.strip()
    if len(t) == 64:
        try:
            return bytes.fromhex(t)
        except ValueError:
            pass
    try:
        raw = base64.b64decode(t + "=" * (-len(t) % 4), altchars=b"-_" if "-" in t or "_" in t
                               else None, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) == KEY_LEN:
        return raw
    raise MasterKeyError(f"master key from {source} is malformed: expected 64 hex characters "
                    f"or base64 of 32 bytes")


def load_master_key(key: str | None, key_file: str | None) -> bytes | None:
    """The configured master key, or None when none is configured."""
    if key:
        return parse_master_key(key, "AIONDB_MASTER_KEY/master_key")
    if key_file:
        try:
            with open(key_file, encoding="ascii", errors="replace") as fh:
                text = fh.read()
        except OSError as exc:
            raise MasterKeyError(f"cannot read master key file {key_file}: {exc.strerror}") from None
        return parse_master_key(text, f"key file {key_file}")
    return None


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=KEY_LEN, salt=None,
                info=b"aiondb/" + purpose).derive(master)


def fingerprint(master: bytes) -> str:
    """A public name for a master key (reveals nothing about it)."""
    return _derive(master, b"fingerprint/v1")[:8].hex()


def new_data_key() -> bytes:
    return os.urandom(KEY_LEN)


def _wrap_ad(tenant_oid: int, key_id: int) -> bytes:
    return b"aiondb tenant data key\0" + struct.pack("<QI", tenant_oid, key_id)


def wrap_key(master: bytes, data_key: bytes, tenant_oid: int, key_id: int) -> str:
    """The envelope stored in the cluster file (base64 of nonce + sealed key)."""
    nonce = os.urandom(NONCE_LEN)
    sealed = AESGCM(_derive(master, b"wrap/v1")).encrypt(nonce, data_key,
                                                         _wrap_ad(tenant_oid, key_id))
    return base64.b64encode(nonce + sealed).decode("ascii")


def unwrap_key(master: bytes, envelope: str, tenant_oid: int, key_id: int) -> bytes:
    raw = base64.b64decode(envelope)
    try:
        return AESGCM(_derive(master, b"wrap/v1")).decrypt(
            raw[:NONCE_LEN], raw[NONCE_LEN:], _wrap_ad(tenant_oid, key_id))
    except InvalidTag:
        raise TamperedError(f"the data key envelope of tenant oid {tenant_oid} does not open "
                            f"with this master key (corrupt or altered cluster file)") from None


def mac(master: bytes, data: bytes) -> str:
    """Authenticates metadata files (the cluster file) in encrypted mode."""
    return hmac.new(_derive(master, b"metadata-mac/v1"), data, hashlib.sha256).hexdigest()


class Sealer:
    """AES-256-GCM with caller-supplied nonce and associated data."""

    encrypted = True
    overhead = TAG_LEN

    def __init__(self, data_key: bytes) -> None:
        self._aead = AESGCM(data_key)
        # the bound C method itself: one Python call less per WAL record
        self.seal = self._aead.encrypt  # type: ignore[method-assign]

    def seal(self, nonce: bytes, plaintext: bytes, ad: bytes) -> bytes:
        return self._aead.encrypt(nonce, plaintext, ad)

    def open(self, nonce: bytes, sealed: bytes, ad: bytes) -> bytes:
        try:
            return self._aead.decrypt(nonce, sealed, ad)
        except InvalidTag:
            raise TamperedError("authentication failed") from None


class PlainSealer:
    """Unencrypted mode: payloads pass through unchanged."""

    encrypted = False
    overhead = 0

    def seal(self, nonce: bytes, plaintext: bytes, ad: bytes) -> bytes:
        return plaintext

    def open(self, nonce: bytes, sealed: bytes, ad: bytes) -> bytes:
        return sealed
