"""The README's configuration table names every variable a service reads."""

import re
from pathlib import Path

from services.events.settings import EventsSettings
from services.members.settings import MembersSettings
from services.notify.settings import NotifySettings
from services.web.settings import WebSettings
from services.welfare.settings import WelfareSettings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_every_setting_is_documented_in_the_readme():
    documented = set(re.findall(r"^\| `(GONGHUI_[A-Z0-9_]+)` \|", README, re.MULTILINE))
    read = {
        (
            field.validation_alias
            if isinstance(field.validation_alias, str)
            else f"{cls.model_config['env_prefix']}{name}"
        ).upper()
        for cls in (MembersSettings, EventsSettings, WelfareSettings, NotifySettings, WebSettings)
        for name, field in cls.model_fields.items()
    }
    assert read <= documented, f"undocumented: {sorted(read - documented)}"


def test_the_two_commands_come_first():
    first_block = README.split("```")[1]
    assert "make run" in first_block and "make test" in first_block
