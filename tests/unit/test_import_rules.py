"""Reading member lists and the row rules of an import, pure: no database, no broker."""

from __future__ import annotations

import io
from datetime import date, datetime

import pytest
from openpyxl import Workbook

from services.members.imports.domain import (
    Context,
    Level,
    Outcome,
    SourceRow,
    check_row,
    count,
    import_change,
    parse_upload,
    preview_existing,
    verdict,
)
from services.members.membership.domain import JoinMember, Member, MemberStatus, join
from services.members.org.domain import Campus, SmallGroup
from shared.errors import DomainError
from shared.events.members import ContactChanged, MemberUpdated
from shared.spreadsheet import Unreadable, column_letter, decode_text, excel_date, read_table

TODAY = date(2026, 9, 1)
CAMPUSES = {
    code: Campus(
        id=code,
        campus=code,
        name=name,
        departments=["艺术系", "体育部"],
        small_groups=[SmallGroup(code="g-art", name="艺术教工小家")],
    )
    for code, name in (("main", "主校区"), ("north", "北校区"))
}
HEADER = "工号,姓名,性别,出生日期,校区,部门,手机,身份证号,教工小家"


def upload(text: str, encoding: str = "utf-8", default_campus: bool = False):
    return parse_upload(text.encode(encoding), default_campus)


def ctx(up, scope=("main",), active=False, default_campus=None) -> Context:
    return Context(
        campuses=CAMPUSES,
        scope=frozenset(scope),
        active=active,
        today=TODAY,
        columns=up.columns,
        default_campus=default_campus,
        epoch_1904=up.epoch_1904,
    )


def checked(line: str, **over):
    up = upload(f"{HEADER}\n{line}\n")
    assert up.problems == [], up.problems
    [row] = up.rows
    return check_row(row, ctx(up, **over))


def codes(result) -> list[tuple[str | None, str, str]]:
    return [(p.cell, p.code, p.level.value) for p in result.problems]


# -- the file ---------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_in_every_encoding_chinese_excel_saves(encoding):
    up = upload(f"{HEADER}\nT1,张伟,男,,main,艺术系,,,\n", encoding)
    assert up.format == "csv" and up.problems == []
    assert up.rows[0].values["name"] == "张伟" and up.rows[0].row == 2


def test_text_that_is_no_csv_at_all_is_unreadable():
    with pytest.raises(Unreadable):
        decode_text(b"\xff\xfe\x00\x00binary")
    up = parse_upload(b"PK\x03\x04 not really a workbook", False)
    assert [p.code for p in up.problems] == ["import.unreadable_file"]
    assert parse_upload(b"", False).problems[0].code == "import.empty_file"


def test_the_header_may_sit_below_a_title_and_carry_notes_english_names_too():
    up = upload(
        "2026年新教师名单\n\n序号,工号*,Name,部门（必填）,校区,会费基数（元）,备注,爱好\n1,T1,王,艺术系,main,5321.5,,\n"
    )
    assert up.header is not None and up.header.row == 3
    assert sorted(up.columns) == ["campus", "department", "name", "salary_base_fen", "staff_no"]
    assert [(p.code, p.cell, p.level) for p in up.problems] == [
        ("import.unknown_column", "H3", Level.warning)
    ]
    [row] = up.rows
    assert row.row == 4
    result = check_row(row, ctx(up))
    assert result.new_member is not None and result.new_member.salary_base_fen == 532150


def test_columns_that_are_missing_twice_or_not_imported():
    up = upload("工号,姓名,手机,手机号,会籍状态\nT1,王,,,在会\n")
    assert [(p.code, p.column, p.cell) for p in up.problems] == [
        ("import.duplicate_column", "手机", "D1"),
        ("import.column_not_imported", "会籍状态", "E1"),
        ("import.missing_column", "校区", None),
        ("import.missing_column", "部门", None),
    ]
    assert up.rows == []  # a file whose header has errors imports nothing
    # a cadre of one campus may leave the campus out: the rows are theirs
    mine = upload("工号,姓名,部门\nT1,王,艺术系\n", default_campus=True)
    assert mine.problems == []
    result = check_row(mine.rows[0], ctx(mine, default_campus="main"))
    assert result.result.outcome is Outcome.create and result.result.campus == "main"


def test_no_header_found():
    up = upload("a,b,c\n1,2,3\n")
    assert [p.code for p in up.problems] == ["import.no_header"]


def test_identical_rows_are_ignored_and_different_rows_of_one_staff_number_refused():
    line = "T1,王芳,女,,main,艺术系,,,"
    up = upload(
        f"{HEADER}\n{line}\n{line}\nＴ１ ,王芳,女,,main,艺术系,,,\nT2,李,男,,main,艺术系,,,\nT2,李四,男,,main,艺术系,,,\n"
    )
    results = [check_row(r, ctx(up)).result for r in up.rows]
    assert [(r.row, r.outcome) for r in results] == [
        (2, Outcome.create),
        (3, Outcome.duplicate),
        (4, Outcome.duplicate),  # full-width and a stray space are the same staff number
        (5, Outcome.refused),
        (6, Outcome.refused),
    ]
    assert results[1].problems[0].message == "与第 2 行完全相同，已忽略"
    assert results[3].problems[0].message == "工号「T2」在第 6 行也出现，且内容不同；请只保留一行"


def test_rows_keep_excel_row_numbers_with_blank_lines_and_quoted_newlines():
    up = upload(f'{HEADER}\nT1,"王\n芳",女,,main,艺术系,,,\n\n,,,,,,,,\nT2,李,男,,main,艺术系,,,\n')
    assert [r.row for r in up.rows] == [2, 5]
    assert check_row(up.rows[0], ctx(up)).result.name == "王 芳"


def test_too_many_rows_is_a_file_problem(monkeypatch):
    from services.members.imports.domain import upload as file

    monkeypatch.setattr(file, "MAX_ROWS", 3)
    up = upload(HEADER + "\n" + "\n".join(f"T{i},王,,,main,艺术系,,," for i in range(5)) + "\n")
    assert [p.code for p in up.problems] == ["import.too_many_rows"] and up.rows == []


# -- cells ------------------------------------------------------------------------------------


def test_excel_serial_dates_including_the_1900_leap_bug():
    assert excel_date(1) == date(1900, 1, 1)
    assert excel_date(59) == date(1900, 2, 28)
    assert excel_date(60) is None  # 29 February 1900 never was
    assert excel_date(61) == date(1900, 3, 1)
    assert excel_date(33604) == date(1992, 1, 1)
    assert excel_date(45170.75) == date(2023, 9, 1)  # the time of day is dropped
    assert excel_date(0) is None and excel_date(-3) is None
    assert excel_date(0, epoch_1904=True) is None and excel_date(1, epoch_1904=True) == date(
        1904, 1, 2
    )
    assert [column_letter(i) for i in (0, 25, 26, 27, 701, 702)] == [
        "A",
        "Z",
        "AA",
        "AB",
        "ZZ",
        "AAA",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1990-03-08", date(1990, 3, 8)),
        ("1990/3/8", date(1990, 3, 8)),
        ("1990.3.8", date(1990, 3, 8)),
        ("1990年3月8日", date(1990, 3, 8)),
        ("１９９０－０３－０８", date(1990, 3, 8)),
        ("19900308", date(1990, 3, 8)),
        ("32940", date(1990, 3, 8)),  # a serial number that lost its date format in the CSV
        ("1990-03-08 00:00:00", date(1990, 3, 8)),
        (" 1990-03-08 ", date(1990, 3, 8)),
    ],
)
def test_dates_as_schools_write_them(text, expected):
    result = checked(f"T1,王,女,{text},main,艺术系,,,")
    assert result.new_member is not None and result.new_member.birth_date == expected


@pytest.mark.parametrize("text", ["1990-02-30", "1990年3月", "三月八日", "0", "123456789"])
def test_a_date_that_is_none_is_refused_with_the_cell(text):
    result = checked(f"T1,王,女,{text},main,艺术系,,,")
    assert codes(result.result) == [("D2", "import.invalid_date", "error")]


def test_full_width_digits_stray_spaces_and_empty_cells():
    result = checked(
        " Ｔ２０２６００１ ,  王　芳 ,女,,主校区 , 艺术系 ,１３９ １２３４ ５６７８,,艺术教工小家"
    )
    member = result.new_member
    assert member is not None and result.result.problems == []
    assert (member.staff_no, member.name, member.campus, member.department) == (
        "T2026001",
        "王 芳",
        "main",
        "艺术系",
    )
    assert member.phone == "13912345678" and member.small_group == "g-art"
    assert member.birth_date is None and member.id_number is None


def test_xlsx_with_date_cells_numbers_and_a_title_row():
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["2026 新教师"])
    sheet.append(["工号", "姓名", "出生日期", "入职日期", "校区", "部门", "手机", "身份证号"])
    sheet.append(["T1", "王", datetime(1990, 3, 8), 46259, "main", "艺术系", 13912345678, None])
    sheet.append(["T2", "李", "1991-01-01", None, "main", "艺术系", None, 1.10101199003074e17])
    out = io.BytesIO()
    book.save(out)
    up = parse_upload(out.getvalue(), False)
    assert up.format == "xlsx" and up.problems == []
    first, second = (check_row(r, ctx(up)) for r in up.rows)
    assert first.new_member is not None
    assert first.new_member.birth_date == date(1990, 3, 8)
    assert first.new_member.hire_date == date(2026, 8, 25)
    assert first.new_member.phone == "13912345678"  # a number cell, without Excel's ".0"
    assert [(p.cell, p.code) for p in second.result.problems] == [
        ("H4", "member.invalid_id_number")  # 18 digits as a number have lost the last ones
    ]
    assert "设为「文本」" in second.result.problems[0].message
    assert read_table(out.getvalue(), 1).rows[0][0] == 1  # stops at max_rows


# -- rows -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("T#1,王,女,,main,艺术系,,,", [("A2", "member.invalid_staff_no", "error")]),
        ("T1,,女,,main,艺术系,,,", [("B2", "member.name_required", "error")]),
        ("T1,王,未知,,main,艺术系,,,", [("C2", "import.invalid_gender", "error")]),
        ("T1,王,女,,xyz,艺术系,,,", [("E2", "org.unknown_campus", "error")]),
        ("T1,王,女,,main,美术系,,,", [("F2", "org.unknown_department", "error")]),
        ("T1,王,女,,main,,,,", [("F2", "member.department_required", "error")]),
        ("T1,王,女,,main,艺术系,1391234,,", [("G2", "member.invalid_phone", "error")]),
        ("T1,王,女,,main,艺术系,,1101,", [("H2", "member.invalid_id_number", "error")]),
        ("T1,王,女,,main,艺术系,,,g-none", [("I2", "org.unknown_small_group", "error")]),
        ("T1,王,女,,north,艺术系,,,", [("E2", "import.campus_forbidden", "error")]),
        (
            "T1,王,女,,main,艺术系,,110101199003074510,",
            [("H2", "member.id_number_check_digit", "warning")],
        ),
        (
            "T#1,,男,1990-13-01,north,美术系,123,,",
            [
                ("A2", "member.invalid_staff_no", "error"),
                ("B2", "member.name_required", "error"),
                ("D2", "import.invalid_date", "error"),
                ("E2", "import.campus_forbidden", "error"),
                ("F2", "org.unknown_department", "error"),
                ("G2", "member.invalid_phone", "error"),
            ],
        ),
    ],
)
def test_each_rule_says_its_cell_and_code(line, expected):
    assert codes(checked(line).result) == expected


def test_a_row_makes_the_same_command_and_member_as_post_members():
    result = checked("T1,王芳,女,1990-03-08,main,艺术系,13912345678,11010119900307451X,g-art")
    cmd = JoinMember(
        staff_no="T1",
        name="王芳",
        gender="female",
        birth_date=date(1990, 3, 8),
        campus="main",
        department="艺术系",
        phone="13912345678",
        id_number="11010119900307451X",
        small_group="g-art",
        as_applicant=True,
    )
    assert result.command == cmd
    made = join(cmd, TODAY)
    assert result.new_member is not None
    assert result.new_member.model_dump() == made.model_dump()
    assert [type(e) for e in result.new_member.events] == [type(e) for e in made.events]
    active = checked("T1,王芳,女,,main,艺术系,,,", active=True)
    assert active.new_member is not None and active.new_member.status is MemberStatus.active
    assert checked("T1,王,女,,north,艺术系,,,", scope=("*",)).result.outcome is Outcome.create


# -- a staff number that is already a member --------------------------------------------------


def existing(**over) -> Member:
    cmd = JoinMember(
        staff_no="T1", name="王芳", campus="main", department="艺术系", phone="13912345678"
    )
    member = join(cmd, TODAY)
    member.pull_events()
    member.version = 3
    for key, value in over.items():
        setattr(member, key, value)
    return member


def test_an_identical_row_is_unchanged_and_a_different_one_an_update_of_those_columns():
    same = checked("T1,王芳,,,main,艺术系,139-1234-5678,,")
    assert preview_existing(existing(), same, ctx(same_ctx())).outcome is Outcome.unchanged
    other = checked("T1,王芳,女,,main,体育部,13900000000,,")
    result = preview_existing(existing(), other, ctx(same_ctx()))
    assert (result.outcome, result.changed) == (Outcome.update, ["性别", "部门", "手机"])


def test_a_dry_run_never_tells_whether_a_sealed_value_equals_the_stored_one():
    # The same file against a member whose ID number is the file's, and one whose is not: the
    # answers are identical, "the file sets 身份证号", so a guess is never confirmed.
    row = checked("T1,王芳,,,main,艺术系,,11010119900307451X,")
    right = preview_existing(existing(id_number="11010119900307451X"), row, ctx(same_ctx()))
    wrong = preview_existing(existing(id_number="110101199003070000"), row, ctx(same_ctx()))
    assert right.model_dump() == wrong.model_dump()
    assert (right.outcome, right.changed) == (Outcome.update, ["身份证号"])
    # The salary base alike (会费基数, yuan).
    up = upload("工号,姓名,校区,部门,会费基数\nT1,王芳,main,艺术系,5321.50\n")
    [source] = up.rows
    salary = check_row(source, ctx(up))
    same = preview_existing(existing(salary_base_fen=532150), salary, ctx(up))
    other = preview_existing(existing(salary_base_fen=100), salary, ctx(up))
    assert same.model_dump() == other.model_dump() and same.changed == ["会费基数"]
    # A member no longer in the union is refused alike, whatever the stored value.
    dead_right = existing(status=MemberStatus.deceased, id_number="11010119900307451X")
    dead_wrong = existing(status=MemberStatus.deceased, id_number=None)
    assert (
        preview_existing(dead_right, row, ctx(same_ctx())).model_dump()
        == preview_existing(dead_wrong, row, ctx(same_ctx())).model_dump()
    )


def same_ctx():
    return upload(f"{HEADER}\nT1,王,,,main,艺术系,,,\n")


def test_an_update_is_one_change_with_one_updated_event_and_the_contact_event():
    row = checked("T1,王芳,女,,main,体育部,13900000000,,")
    member = existing()
    import_change(row, ctx(same_ctx()))(member)
    updated, contact = member.events
    assert isinstance(updated, MemberUpdated) and isinstance(contact, ContactChanged)
    assert updated.changed == ["department", "gender", "phone"]
    assert (member.department, member.phone, member.status) == (
        "体育部",
        "13900000000",
        MemberStatus.active,  # an import never changes the status
    )


def test_empty_cells_never_erase_and_the_campus_is_not_moved():
    row = checked("T1,王芳,,,main,艺术系,,,")
    member = existing(gender="female", birth_date=date(1990, 3, 8))
    assert preview_existing(member, row, ctx(same_ctx())).outcome is Outcome.unchanged
    elsewhere = existing(campus="north")
    result = preview_existing(elsewhere, row, ctx(same_ctx()))
    assert codes(result) == [("E2", "import.campus_differs", "error")]
    assert result.problems[0].message == "工号「T1」已是其他校区的会员；转校区请使用转校区功能"


def test_a_deceased_member_is_not_edited_but_an_identical_row_is_unchanged():
    dead = existing(status=MemberStatus.deceased)
    same = checked("T1,王芳,,,main,艺术系,,,")
    result = preview_existing(dead, same, ctx(same_ctx()))
    assert result.outcome is Outcome.unchanged
    assert [p.code for p in result.problems] == ["import.status_kept"]
    other = checked("T1,王芳,,,main,体育部,,,")
    refused = preview_existing(dead, other, ctx(same_ctx()))
    assert refused.outcome is Outcome.refused
    assert [p.code for p in refused.problems] == ["member.invalid_transition"]
    with pytest.raises(DomainError):
        import_change(other, ctx(same_ctx()))(dead)


# -- the report -------------------------------------------------------------------------------


def test_counts_and_the_sentence_a_cadre_reads():
    up = upload(
        f"{HEADER}\nT1,王,,,main,艺术系,,,\nT1,王,,,main,艺术系,,,\nT#,王,,,main,艺术系,,,\n"
    )
    results = [check_row(r, ctx(up)).result for r in up.rows]
    counts = count(results)
    assert (counts.rows, counts.create, counts.duplicate, counts.refused) == (3, 1, 1, 1)
    assert verdict(counts, commit=False, written=False, file_ok=True).summary == (
        "检查完成（未写入）：共 3 行，可新增 1 行，重复行 1 行（已忽略），有误 1 行"
    )
    assert verdict(counts, commit=True, written=False, file_ok=True).summary.startswith(
        "有 1 行有误，未导入任何数据"
    )
    assert verdict(counts, commit=True, written=True, file_ok=True).summary == (
        "导入完成：共 3 行，新增 1 行，重复行 1 行（已忽略），有误 1 行；有误的行未导入"
    )


def test_stored_rows_read_back_the_same():
    row = SourceRow(7, {"staff_no": "T1", "birth_date": date(1990, 3, 8), "phone": 139.0}, 3, (4,))
    assert SourceRow.from_doc(row.to_doc()) == row
