"""OAuth tokens at rest: MultiFernet (AES-128-CBC + HMAC-SHA256) under TOKEN_ENCRYPTION_KEYS.

Keys are dedicated (never derived from SECRET_KEY), comma-separated, newest first: new values are
encrypted under the first; any listed key decrypts. `manage.py rotate_token_keys` re-encrypts
everything under the newest key, after which old keys can be dropped. Decryption failure raises:
a wrong key must never hand Meta garbage as a token.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.views.decorators.debug import sensitive_variables


class TokenDecryptError(Exception):
    """The stored ciphertext cannot be read with the configured keys (or was tampered with)."""


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("TOKEN_ENCRYPTION_KEYS is empty.")
    try:
        return MultiFernet([Fernet(k.encode()) for k in keys])
    except (ValueError, TypeError) as error:
        raise ImproperlyConfigured(
            "TOKEN_ENCRYPTION_KEYS must be Fernet keys (32 url-safe base64-encoded bytes)."
        ) from error


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.TOKEN_ENCRYPTION_KEYS))


@sensitive_variables()
def encrypt(plaintext: str) -> str:
    return fernet().encrypt(plaintext.encode()).decode()


@sensitive_variables()
def decrypt(ciphertext: str) -> str:
    try:
        return fernet().decrypt(ciphertext.encode()).decode()
    except (InvalidToken, ValueError) as error:
        raise TokenDecryptError(
            "stored token cannot be decrypted with the configured keys"
        ) from error


@sensitive_variables()
def rotate(ciphertext: str) -> str:
    """Re-encrypt under the newest key (keeps Fernet's original timestamp)."""
    try:
        return fernet().rotate(ciphertext.encode()).decode()
    except InvalidToken as error:
        raise TokenDecryptError(
            "stored token cannot be decrypted with the configured keys"
        ) from error
