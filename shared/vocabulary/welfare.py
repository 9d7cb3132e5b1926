"""The welfare service's codes and their labels that web shows: condolence cases (慰问)."""

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
