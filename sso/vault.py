"""Client secrets of identity providers, kept encrypted in the database (Fernet).

The key is derived from settings.SSO_SECRET_KEY (SECRET_KEY unless set apart), so a copy of the
database alone does not give the secrets away. Changing that key makes saved secrets unreadable:
enter them again on each customer's Sign-in card.
"""

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


def _fernet() -> Fernet:
    digest = hashlib.sha256(b"msp-portal sso secret\0" + settings.SSO_SECRET_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def secret_seal(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode()


def secret_open(sealed: str) -> str:
    """The plain secret, or "" when there is none or the key has changed since it was saved."""
    if not sealed:
        return ""
    try:
        return _fernet().decrypt(sealed.encode()).decode()
    except InvalidToken:
        return ""
