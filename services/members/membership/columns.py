"""The columns of a member list as a school's spreadsheets have them (导出 / 导入).

One table, so an export can be opened next to an import template and read the same way:
field of the member record, and its Chinese header.
"""

from __future__ import annotations

COLUMNS: tuple[tuple[str, str], ...] = (
    ("staff_no", "工号"),
    ("name", "姓名"),
    ("gender", "性别"),
    ("birth_date", "出生日期"),
    ("campus", "校区"),
    ("department", "部门"),
    ("position", "职务"),
    ("employment_type", "用工形式"),
    ("hire_date", "入职日期"),
    ("phone", "手机"),
    ("email", "邮箱"),
    ("wecom_userid", "企业微信"),
    ("id_number", "身份证号"),
    ("small_group", "教工小家"),
    ("status", "会籍状态"),
    ("joined_on", "入会日期"),
    ("roles", "工会职务"),
)
