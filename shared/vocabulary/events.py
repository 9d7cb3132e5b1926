"""The events service's codes and their labels: activities, registrations, the work plan."""

from __future__ import annotations

from shared.labels import Labelled


class ActivityKind(Labelled):
    outing = "outing", "春秋游"
    sports_meet = "sports_meet", "运动会"
    lecture = "lecture", "讲座"
    competition = "competition", "竞赛"
    celebration = "celebration", "节日庆祝"
    volunteering = "volunteering", "志愿服务"
    blood_donation = "blood_donation", "无偿献血"
    ceremony = "ceremony", "仪式典礼"
    training = "training", "培训"
    quiz = "quiz", "知识竞答"
    counselling = "counselling", "心理咨询"
    # 日常文体活动 (插花、读书会、合唱 …), 故事演讲 / 主题征文, and whatever fits nowhere
    cultural_sports = "cultural_sports", "文体活动"
    speech = "speech", "演讲征文"
    other = "other", "其他"


class ActivityStatus(Labelled):
    draft = "draft", "草稿"
    published = "published", "报名中"
    registration_closed = "registration_closed", "报名截止"
    completed = "completed", "已结束"
    cancelled = "cancelled", "已取消"


class RegistrationStatus(Labelled):
    confirmed = "confirmed", "报名成功"
    waitlisted = "waitlisted", "候补中"
    cancelled = "cancelled", "已取消"


class CancelReason(Labelled):
    member = "member", "本人取消"
    cadre = "cadre", "工会干部移除"
    member_left = "member_left", "会籍变动"  # withdrew, died or moved campus
    activity_cancelled = "activity_cancelled", "活动取消"


class PlanItemStatus(Labelled):
    """A point of the year's work plan (工作要点)."""

    planned = "planned", "计划中"
    in_progress = "in_progress", "进行中"
    done = "done", "已完成"
    cancelled = "cancelled", "已取消"


__all__ = ["ActivityKind", "ActivityStatus", "CancelReason", "PlanItemStatus", "RegistrationStatus"]
