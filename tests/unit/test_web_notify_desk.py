"""The notify desk's pure pieces: the delivery summary as a table, and which 待办 sources a
role is asked (only what it can act on)."""

from __future__ import annotations

from services.web.pages.notify_desk import summary_table
from services.web.pages.todo import CADRE_SOURCES, CHAIR_SOURCES, sources_for


def test_the_summary_is_a_row_per_channel_with_deliveries_and_the_totals():
    table = summary_table(
        [
            {"channel": "email", "status": "failed", "count": 2},
            {"channel": "email", "status": "sent", "count": 5},
            {"channel": "inbox", "status": "read", "count": 7},
        ]
    )
    assert table["statuses"] == ["待发送", "已发送", "发送失败", "已读", "未发送"]
    assert table["rows"] == [
        {"channel": "站内信", "counts": [0, 0, 0, 7, 0], "total": 7},
        {"channel": "电子邮件", "counts": [0, 5, 2, 0, 0], "total": 7},
    ]
    assert table["totals"] == [0, 5, 2, 7, 0] and table["total"] == 14
    assert summary_table([])["rows"] == [] and summary_table([])["total"] == 0


def test_each_role_is_asked_only_what_it_can_act_on():
    assert sources_for(["cadre", "member"]) == CADRE_SOURCES
    assert sources_for(["admin"]) == CADRE_SOURCES + CHAIR_SOURCES
    assert sources_for(["finance", "member"]) == ()
    assert sources_for(["auditor"]) == ()
    names = {s.__name__ for s in CHAIR_SOURCES}
    assert names == {"cases", "festival_plans"}
