"""The cap rule, pure: a payment to a person fits their running total for its category and
year, or it is refused with the cap, what is used and what remains — in fen and in words.

`CapBook` (caps.py) keeps the running totals; this module decides.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.welfare.policy.profile import Cap, Category, Festival, GiftForm, Profile
from shared.errors import Invalid, Refused

DIGITS = "零壹贰叁肆伍陆柒捌玖"
SMALL = ("", "拾", "佰", "仟")
LARGE = ("", "万", "亿", "兆")


def yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def _group(n: int) -> str:
    """0 < n < 10000 in capital digits, with inner zeros said once (1005 → 壹仟零伍)."""
    out, zero = "", False
    for power in range(3, -1, -1):
        digit = n // 10**power % 10
        if digit == 0:
            zero = bool(out)
            continue
        if zero:
            out += "零"
            zero = False
        out += DIGITS[digit] + SMALL[power]
    return out


def in_words(fen: int) -> str:
    """人民币大写 of an amount in fen, as a voucher writes it: 1234.50 → 壹仟贰佰叁拾肆元伍角整."""
    if fen < 0:
        return "负" + in_words(-fen)
    whole, jiao, fen_ = fen // 100, fen // 10 % 10, fen % 10
    text = ""
    if whole:
        groups = []
        while whole:
            groups.append(whole % 10000)
            whole //= 10000
        zero = False
        for index in range(len(groups) - 1, -1, -1):
            group = groups[index]
            if group == 0:
                zero = True
                continue
            if text and (zero or group < 1000):
                text += "零"
            text += _group(group) + LARGE[index]
            zero = False
        text += "元"
    if not jiao and not fen_:
        return (text or "零元") + "整"
    if jiao:
        text += DIGITS[jiao] + "角"
    elif text:
        text += "零"
    if fen_:
        text += DIGITS[fen_] + "分"
    else:
        text += "整"
    return text


@dataclass(frozen=True)
class Standing:
    """A person's running total in a category and year against its cap (all fen)."""

    category: Category
    year: int
    cap_fen: int
    used_fen: int

    @property
    def remaining_fen(self) -> int:
        return max(self.cap_fen - self.used_fen, 0)

    def allows(self, amount_fen: int) -> bool:
        return self.used_fen + amount_fen <= self.cap_fen


def breach(standing: Standing, amount_fen: int) -> Refused:
    """The 422 that refuses a payment above what remains."""
    c = standing
    return Refused(
        "welfare.cap_exceeded",
        f"{c.year} 年「{c.category.label}」每人上限 {yuan(c.cap_fen)} 元（{in_words(c.cap_fen)}），"
        f"已用 {yuan(c.used_fen)} 元（{in_words(c.used_fen)}），"
        f"尚余 {yuan(c.remaining_fen)} 元（{in_words(c.remaining_fen)}），"
        f"不足本次 {yuan(amount_fen)} 元",
        category=c.category.value,
        year=c.year,
        cap_fen=c.cap_fen,
        used_fen=c.used_fen,
        remaining_fen=c.remaining_fen,
        amount_fen=amount_fen,
        cap_words=in_words(c.cap_fen),
        used_words=in_words(c.used_fen),
        remaining_words=in_words(c.remaining_fen),
    )


def check_payment(
    cap: Cap, amount_fen: int, gender: str | None = None, festival: Festival | None = None
) -> None:
    """What a single payment must meet whatever the running total: a positive amount, the
    per-occasion (or per-festival) cap, and who the category is for."""
    if amount_fen <= 0:
        raise Invalid("welfare.amount_invalid", "金额须大于 0", amount_fen=amount_fen)
    if cap.only_gender is not None and gender != cap.only_gender:
        raise Refused(
            "welfare.cap_not_applicable",
            f"「{cap.category.label}」只发给女会员",
            category=cap.category.value,
        )
    single = cap.per_festival_fen if festival is not None else cap.per_occasion_fen
    if single is not None and amount_fen > single:
        what = f"每个节日（{festival.label}）" if festival is not None else "每次"
        raise Refused(
            "welfare.cap_exceeded_once",
            f"「{cap.category.label}」{what}每人不超过 {yuan(single)} 元（{in_words(single)}），"
            f"本次 {yuan(amount_fen)} 元",
            category=cap.category.value,
            cap_fen=single,
            amount_fen=amount_fen,
            cap_words=in_words(single),
        )


def check_form(profile: Profile, form: GiftForm) -> None:
    if form in profile.refused_forms:
        raise Invalid(
            "welfare.form_refused",
            f"不得以「{form.label}」形式发放福利（{profile.region}标准 {profile.version}）",
            form=form.value,
        )


def check_festival(profile: Profile, festival: Festival) -> None:
    if festival not in profile.festivals:
        raise Invalid(
            "welfare.festival_not_counted",
            f"「{festival.label}」不在本省可发放节日慰问的节日之列",
            festival=festival.value,
        )
