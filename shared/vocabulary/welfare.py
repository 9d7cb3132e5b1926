"""The welfare service's codes and their labels that web shows: condolence cases (慰问) and
the hardship register (困难职工档案)."""

from __future__ import annotations

from shared.labels import Labelled


class CaseKind(Labelled):
    illness = "illness", "生病住院慰问"
    death_member = "death_member", "会员去世慰问"
    death_relative = "death_relative", "直系亲属去世慰问"
    marriage = "marriage", "结婚慰问"
    childbirth = "childbirth", "生育慰问"
    retirement = "retirement", "退休慰问"
    blood_donation = "blood_donation", "献血慰问"
    hardship = "hardship", "困难帮扶"
    festival_visit = "festival_visit", "春节走访慰问"


# What a member may raise for themself (welfare refuses the rest from a member: 403
# `case.kind_for_cadres`); the other kinds a cadre raises, or the platform does.
MEMBER_KINDS = frozenset(
    {CaseKind.illness, CaseKind.death_relative, CaseKind.marriage, CaseKind.childbirth}
)


class CaseStatus(Labelled):
    raised = "raised", "待审批"
    approved = "approved", "已批准待发放"
    declined = "declined", "未批准"
    paid = "paid", "已发放"
    cancelled = "cancelled", "已撤销"


class CaseSource(Labelled):
    cadre = "cadre", "工会干部登记"
    member = "member", "本人申请"
    blood_donation = "blood_donation", "献血活动自动登记"
    retirement = "retirement", "退休自动登记"
    death = "death", "会员去世自动登记"


# The hardship register (困难职工档案): how hard a member's difficulty is, and the yearly
# review's outcome (脱困出档 closes the file).
class HardshipLevel(Labelled):
    ordinary = "ordinary", "一般困难"
    special = "special", "特别困难"


class ReviewOutcome(Labelled):
    keep = "keep", "继续帮扶"
    close = "close", "脱困出档"
