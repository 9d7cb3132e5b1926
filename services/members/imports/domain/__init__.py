"""Bulk import of members (新教师入会): the rules, pure — no database, no broker.

An uploaded list becomes rows (`parse_upload`); each row becomes the very command a cadre's
form sends (`JoinMember`), checked by the same validation and the same `join()` rules as
POST /members, plus the organisation (campus, department, small group must exist) and the
uploader's campuses. A staff number that is already a member is compared with the row:
identical is "unchanged", otherwise an update through the member's own rules.

What an import may change on an existing member (documented in the README): the details a
cadre corrects with PATCH — name, department, gender, birth date, position, employment type,
hire date, small group, ID number, salary base — and the contact details (phone, e-mail,
WeCom id); only from cells that are not empty (an empty cell never erases anything). Never
the staff number (the key), the campus (a transfer has its own step), the status and its
dates (approve, withdraw … have theirs), union roles or congress terms. "Active" only decides
how *new* people join.

The rules live in one module per step, as the sections of one file once did: `upload` (the
file), `row` (one row), `cells` (one cell), `existing` (a staff number that is already a
member) and `report` (outcomes, counts, verdict). This module names what callers use.
"""

from services.members.imports.columns import COLUMNS
from services.members.imports.domain.existing import (
    CONTACT_FIELDS,
    DETAIL_FIELDS,
    changed_columns,
    import_change,
    note_status,
    preview_existing,
    refuse_result,
)
from services.members.imports.domain.report import (
    Counts,
    Level,
    Outcome,
    Problem,
    RowResult,
    Verdict,
    count,
    verdict,
)
from services.members.imports.domain.row import ALL, CheckedRow, Context, check_row
from services.members.imports.domain.upload import (
    MAX_ROWS,
    SourceRow,
    Upload,
    mark_duplicates,
    parse_upload,
)

__all__ = [
    "ALL",
    "COLUMNS",
    "CONTACT_FIELDS",
    "DETAIL_FIELDS",
    "MAX_ROWS",
    "CheckedRow",
    "Context",
    "Counts",
    "Level",
    "Outcome",
    "Problem",
    "RowResult",
    "SourceRow",
    "Upload",
    "Verdict",
    "changed_columns",
    "check_row",
    "count",
    "import_change",
    "mark_duplicates",
    "note_status",
    "parse_upload",
    "preview_existing",
    "refuse_result",
    "verdict",
]
