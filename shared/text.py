"""Input as a real school types it: full-width digits from Chinese IMEs, stray spaces."""

from __future__ import annotations

import unicodedata


def normalize(value: str) -> str:
    """NFKC folds full-width letters and digits (１２３ → 123) and ideographic spaces."""
    return unicodedata.normalize("NFKC", value).strip()


# Full-width ASCII (U+FF01–U+FF5E) and the ideographic space, to their ASCII forms.
_WIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


def fold_width(value: str) -> str:
    """Only what a Chinese IME types wider (１３８, ＠, ideographic space), nothing else.

    For codes and addresses, where NFKC would go too far: it turns `¸` into a space and a
    combining mark, so a value the schema accepts would fail the rule it states.
    """
    return value.translate(_WIDTH).strip()


def mask_phone(phone: str | None) -> str | None:
    if not phone:
        return phone
    return phone[:3] + "*" * max(len(phone) - 7, 0) + phone[-4:] if len(phone) > 7 else "****"


def mask_email(email: str | None) -> str | None:
    if not email or "@" not in email:
        return email
    user, domain = email.split("@", 1)
    return f"{user[:1]}***@{domain}"


# Rules a client can know belong in the OpenAPI schema, so the patterns below state them —
# in a form that also accepts what a Chinese IME types (full-width digits, ideographic
# spaces); the domain then folds the value (`normalize`) and checks the same rule exactly.
_CONTROL = "\\x00-\\x1f\\x7f-\\x9f"
_DIGIT = "[0-9０-９]"
_SPACE = "[\\s　]"

# At least one visible character, no control characters (tabs, newlines, NUL …).
VISIBLE_TEXT = f"^[^{_CONTROL}]*[^\\s{_CONTROL}][^{_CONTROL}]*$"
_MOBILE = f"{_SPACE}*[1１](?:[\\s　\\-－]*{_DIGIT}){{10}}{_SPACE}*"
_NOT_AT = f"[^@＠﹫\\s{_CONTROL}]"  # ＠ and ﹫ fold to @ (NFKC): they may not hide a second one
_EMAIL = f"{_SPACE}*{_NOT_AT}+[@＠]{_NOT_AT}+[.．]{_NOT_AT}+{_SPACE}*"
_STAFF_NO = f"{_SPACE}*[A-Za-z0-9Ａ-Ｚａ-ｚ０-９\\-－]{{2,32}}{_SPACE}*"


def _blank_or(inner: str) -> str:
    """An optional cell: the value, or nothing but spaces (Excel sends empty cells so)."""
    return f"^(?:{_SPACE}*|{inner})$"


# A mainland mobile number: 11 digits starting with 1, spaces or hyphens between allowed.
MOBILE_TEXT = f"^{_MOBILE}$"
OPTIONAL_MOBILE_TEXT = _blank_or(_MOBILE)
# Something@domain.tld, with optional spaces around it.
EMAIL_TEXT = f"^{_EMAIL}$"
OPTIONAL_EMAIL_TEXT = _blank_or(_EMAIL)
# Staff number: letters, digits and hyphens, full-width allowed, 2 to 32 of them.
STAFF_NO_TEXT = f"^{_STAFF_NO}$"
# A filter or an id in a URL (query and path parameters): anything but control characters.
# PostgreSQL, FerretDB's storage, refuses a NUL in any string it is asked to compare or store,
# so the schema says what a server would otherwise answer with a 500.
URL_TEXT = f"^[^{_CONTROL}]*$"
