"""The columns of a member list as a school's spreadsheets have them (导出 / 导入).

One table, so an export can be opened next to an import template and read the same way:
field of the member record, and its Chinese header.
"""

from __future__ import annotations

from shared.vocabulary.members import MEMBER_FIELDS

COLUMNS: tuple[tuple[str, str], ...] = tuple(
    (field, MEMBER_FIELDS[field])
    for field in (
        "staff_no",
        "name",
        "gender",
        "birth_date",
        "campus",
        "department",
        "position",
        "employment_type",
        "hire_date",
        "phone",
        "email",
        "wecom_userid",
        "id_number",
        "small_group",
        "status",
        "joined_on",
        "roles",
    )
)
