"""Codes of members' voice that the web front end shows as form choices: a commendation's
category kind, a proposal's category and a reply's rating (the events service)."""

from __future__ import annotations

from shared.labels import Labelled


class ProposalCategory(Labelled):
    teaching = "teaching", "教学科研"
    pay = "pay", "工资福利"
    logistics = "logistics", "后勤保障"
    management = "management", "民主管理"
    development = "development", "学校发展"
    other = "other", "其他"


class Rating(Labelled):
    satisfied = "satisfied", "满意"
    basically = "basically", "基本满意"
    unsatisfied = "unsatisfied", "不满意"


class CategoryKind(Labelled):
    teacher_ethics = "teacher_ethics", "师德标兵"
    pioneer = "pioneer", "先锋模范"
    post_expert = "post_expert", "岗位能手"
    city_model_worker = "city_model_worker", "市劳模推荐"
    other = "other", "其他"
