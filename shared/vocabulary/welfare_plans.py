"""The welfare service's codes for festival plans and caps, with their labels (funds-plans):
the plan's and entitlement's statuses, festivals, gift forms and cap categories."""

from __future__ import annotations

from shared.labels import Labelled


class PlanStatus(Labelled):
    draft = "draft", "待批准"
    approved = "approved", "已批准"
    published = "published", "选择中"
    closed = "closed", "已截止"


class EntitlementStatus(Labelled):
    open = "open", "待选择"
    chosen = "chosen", "已选择"
    issued = "issued", "已发放"
    received = "received", "已签收"
    voided = "voided", "已作废"


class Category(Labelled):
    """What a payment to a person is for: each has its own running total per year."""

    festival = "festival", "节日慰问"
    birthday = "birthday", "生日慰问"
    marriage = "marriage", "结婚慰问"
    childbirth = "childbirth", "生育慰问"
    hospitalisation = "hospitalisation", "住院慰问"
    death_member = "death_member", "会员去世慰问"
    death_relative = "death_relative", "直系亲属去世慰问"
    retirement = "retirement", "退休慰问"
    womens_day = "womens_day", "三八妇女节"


class Festival(Labelled):
    new_year = "new_year", "元旦"
    spring_festival = "spring_festival", "春节"
    lantern = "lantern", "元宵"
    qingming = "qingming", "清明"
    dragon_boat = "dragon_boat", "端午"
    mid_autumn = "mid_autumn", "中秋"
    national_day = "national_day", "国庆"


class GiftForm(Labelled):
    goods = "goods", "实物"
    food = "food", "食品"
    voucher = "voucher", "实物兑换券"  # a cake voucher, a cinema ticket: not money
    cash = "cash", "现金"
    shopping_card = "shopping_card", "购物卡"
