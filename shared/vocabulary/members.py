"""The members service's codes and their labels: membership, roles, gender, childcare, import."""

from __future__ import annotations

from shared.labels import Labelled


class MemberStatus(Labelled):
    applied = "applied", "申请中"
    active = "active", "在会"
    rejected = "rejected", "申请未通过"
    withdrawn = "withdrawn", "已退会"
    retired = "retired", "已退休"  # still a member, pays no dues
    deceased = "deceased", "已去世"


class UnionRole(Labelled):
    chair = "chair", "主席"
    vice_chair = "vice_chair", "副主席"
    committee = "committee", "委员"
    group_leader = "group_leader", "小组长"
    finance = "finance", "经费管理"
    auditor = "auditor", "经费审查委员"


class Gender(Labelled):
    female = "female", "女"
    male = "male", "男"


class CareStatus(Labelled):
    """Where a member's child is looked after (托育情况)."""

    none = "none", "未入托入园"  # at home
    daycare = "daycare", "托班"  # 托班 / 托育机构
    kindergarten = "kindergarten", "幼儿园"
    primary = "primary", "小学"


class ImportOutcome(Labelled):
    """What the members import does (or would do) with one row of the list."""

    create = "create", "新增"
    update = "update", "更新"
    unchanged = "unchanged", "无变化"
    refused = "refused", "有误"  # not imported
    duplicate = "duplicate", "重复行"  # the same as a row above: ignored


class ProblemLevel(Labelled):
    """How bad a problem of an import row is."""

    error = "error", "错误"  # the row is refused
    warning = "warning", "提醒"  # imported, but a person should look


__all__ = ["CareStatus", "Gender", "ImportOutcome", "MemberStatus", "ProblemLevel", "UnionRole"]
