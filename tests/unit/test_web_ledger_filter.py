"""The finance desk's pure pieces: the ledger's type filter speaks the welfare API's words."""

from __future__ import annotations

from services.web.pages.funds import KINDS
from services.welfare.funds.domain import ENTRY_ZH, EntryKind


def test_each_type_of_the_ledger_filter_is_an_entry_kind_of_the_api_with_its_label():
    asked = {api: label for label, api in KINDS.values()}
    assert sorted(asked) == sorted(k.value for k in EntryKind)  # every kind, once
    assert asked == {k.value: label for k, label in ENTRY_ZH.items()}
