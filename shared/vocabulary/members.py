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


class MemberChange(Labelled):
    """What a recorded change of a member did (the `action` of their history)."""

    enrol = "join", "入会申请"  # not `join`: that is str.join
    create = "create", "建档"
    import_ = "import", "名单导入"
    approve = "approve", "批准入会"
    reject = "reject", "驳回入会申请"
    reapply = "reapply", "重新申请入会"
    transfer = "transfer", "转校区"
    withdraw = "withdraw", "退会"
    retire = "retire", "登记退休"
    decease = "decease", "登记去世"
    update = "update", "修改信息"
    change_contact = "change_contact", "修改联系方式"
    confirm_email = "confirm_email", "确认邮箱"
    set_children = "set_children", "登记子女情况"


# A member record's fields as people read them: the spreadsheet headers of the members
# export and import (services/members/membership/columns.py) and the history page.
MEMBER_FIELDS: dict[str, str] = {
    "staff_no": "工号",
    "name": "姓名",
    "gender": "性别",
    "birth_date": "出生日期",
    "campus": "校区",
    "department": "部门",
    "position": "职务",
    "employment_type": "用工形式",
    "hire_date": "入职日期",
    "phone": "手机",
    "email": "邮箱",
    "pending_email": "待确认邮箱",
    "wecom_userid": "企业微信",
    "id_number": "身份证号",
    "salary_base_fen": "工资基数",
    "small_group": "教工小家",
    "status": "会籍状态",
    "applied_on": "申请日期",
    "joined_on": "入会日期",
    "left_on": "离会日期",
    "reject_reason": "驳回理由",
    "roles": "工会职务",
    "congress_terms": "教代会代表届次",
    "children": "子女情况",
}


class ProblemLevel(Labelled):
    """How bad a problem of an import row is."""

    error = "error", "错误"  # the row is refused
    warning = "warning", "提醒"  # imported, but a person should look


__all__ = [
    "MEMBER_FIELDS",
    "CareStatus",
    "Gender",
    "ImportOutcome",
    "MemberChange",
    "MemberStatus",
    "ProblemLevel",
    "UnionRole",
]
