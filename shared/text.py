"""Input as a real school types it: full-width digits from Chinese IMEs, stray spaces."""

from __future__ import annotations

import unicodedata


def normalize(value: str) -> str:
    """NFKC folds full-width letters and digits (１２３ → 123) and ideographic spaces."""
    return unicodedata.normalize("NFKC", value).strip()


def mask_phone(phone: str | None) -> str | None:
    if not phone:
        return phone
    return phone[:3] + "*" * max(len(phone) - 7, 0) + phone[-4:] if len(phone) > 7 else "****"


def mask_email(email: str | None) -> str | None:
    if not email or "@" not in email:
        return email
    user, domain = email.split("@", 1)
    return f"{user[:1]}***@{domain}"
