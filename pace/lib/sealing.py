"""Tokens at rest: AES-256-GCM with keys from ``settings.PACE_TOKEN_KEYS``.

``PACE_TOKEN_KEYS`` is a list of ``id:base64key`` (32 random bytes each).
A ciphertext is stored as ``KEYID$BASE64(nonce || ciphertext+tag)``, so each one names the
key that sealed it: the first key of the setting seals, every key listed opens, and
``manage.py rotate_token_key`` re-seals what an older key sealed. The associated data binds
a ciphertext to its purpose (``strava:access``...), so a refresh token copied into the access
token's column does not open.
"""

from __future__ import annotations

import base64
import binascii
import functools
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

NONCE_BYTES = 12
KEY_BYTES = 32
SEPARATOR = "$"


class TokenDecryptError(Exception):
    """A stored token does not open: unknown key id, tampered or not a ciphertext at all."""


@dataclass(frozen=True)
class TokenKey:
    key_id: str
    key: bytes

    def __repr__(self) -> str:  # never the key itself
        return f"TokenKey({self.key_id!r})"


def parse_keys(spec: list[str]) -> list[TokenKey]:
    """``["id:base64key", ...]`` → keys; anything else stops start-up, naming the entry."""
    keys: list[TokenKey] = []
    for number, item in enumerate(spec, start=1):
        key_id, sep, encoded = item.strip().partition(":")
        if not sep or not key_id or not key_id.isalnum():
            raise ImproperlyConfigured(
                f"PACE_TOKEN_KEYS entry {number} must be id:base64key (id letters and digits)"
            )
        try:
            key = base64.b64decode(encoded, validate=True)
        except binascii.Error as exc:
            raise ImproperlyConfigured(
                f"PACE_TOKEN_KEYS entry {number} ({key_id}): the key is not base64"
            ) from exc
        if len(key) != KEY_BYTES:
            raise ImproperlyConfigured(
                f"PACE_TOKEN_KEYS entry {number} ({key_id}): the key must be 32 bytes, "
                f'not {len(key)} (make one with: python -c "import os,base64;'
                f'print(base64.b64encode(os.urandom(32)).decode())")'
            )
        if any(existing.key_id == key_id for existing in keys):
            raise ImproperlyConfigured(f"PACE_TOKEN_KEYS names key id {key_id!r} twice")
        keys.append(TokenKey(key_id, key))
    return keys


def dev_key(secret_key: str) -> TokenKey:
    """The embedded default's key when PACE_TOKEN_KEYS is unset: derived from SECRET_KEY,
    so a laptop needs no setting (a deploy check refuses it in production)."""
    derived = HKDF(
        algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=b"pace token key"
    ).derive(secret_key.encode())
    return TokenKey("dev", derived)


@functools.lru_cache(maxsize=4)
def _parsed(spec: tuple[str, ...], secret_key: str) -> tuple[TokenKey, ...]:
    return tuple(parse_keys(list(spec))) if spec else (dev_key(secret_key),)


def _keys() -> tuple[TokenKey, ...]:
    return _parsed(tuple(settings.PACE_TOKEN_KEYS), settings.SECRET_KEY)


def current_key_id() -> str:
    """The id of the key that seals new ciphertexts."""
    return _keys()[0].key_id


def encrypt(plaintext: str, *, purpose: str) -> str:
    """Seal ``plaintext`` with the current key; ``purpose`` must be given again to open it."""
    key = _keys()[0]
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(key.key).encrypt(nonce, plaintext.encode(), purpose.encode())
    return key.key_id + SEPARATOR + base64.b64encode(nonce + sealed).decode("ascii")


def key_id_of(ciphertext: str) -> str:
    """The id of the key that sealed ``ciphertext`` ("" for none)."""
    key_id, sep, _ = ciphertext.partition(SEPARATOR)
    return key_id if sep else ""


def decrypt(ciphertext: str, *, purpose: str) -> str:
    """Open a ciphertext of :func:`encrypt`; raises TokenDecryptError, never anything else."""
    key_id, sep, encoded = ciphertext.partition(SEPARATOR)
    key = next((k for k in _keys() if k.key_id == key_id), None) if sep else None
    if key is None:
        raise TokenDecryptError(f"no key {key_id!r} in PACE_TOKEN_KEYS")
    try:
        raw = base64.b64decode(encoded, validate=True)
        if len(raw) < NONCE_BYTES + 16:
            raise TokenDecryptError("ciphertext too short")
        plain = AESGCM(key.key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], purpose.encode())
        return plain.decode()
    except (binascii.Error, ValueError, InvalidTag, UnicodeDecodeError) as exc:
        raise TokenDecryptError(f"ciphertext under key {key_id!r} does not open") from exc


def reencrypt(ciphertext: str, *, purpose: str) -> str:
    """The same plaintext sealed with the current key (unchanged if it already is)."""
    if key_id_of(ciphertext) == current_key_id():
        return ciphertext
    return encrypt(decrypt(ciphertext, purpose=purpose), purpose=purpose)
