"""The README and the docs site stay true: links resolve, the commands they name still run,
and the configuration page names every setting a service reads.

(`make test` also builds the site with `mkdocs build --strict`, which fails on a broken link
or a missing image inside docs/; these checks cover the README, which MkDocs never reads, and
the commands, which it cannot check.)
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from services.events.settings import EventsSettings
from services.members.settings import MembersSettings
from services.notify.settings import NotifySettings
from services.web.settings import WebSettings
from services.welfare.settings import WelfareSettings

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
DOCS = ROOT / "docs"
PAGES = {path: path.read_text() for path in sorted(DOCS.rglob("*.md"))}
HELP_TIMEOUT_S = 60

# ---- what a text says --------------------------------------------------------------------


def code_of(markdown: str) -> list[str]:
    """The code in a Markdown text: fenced blocks (without comments) and inline code spans."""
    fenced = re.findall(r"^```[^\n]*\n(.*?)^```", markdown, re.MULTILINE | re.DOTALL)
    prose = re.sub(r"^```[^\n]*\n.*?^```", "", markdown, flags=re.MULTILINE | re.DOTALL)
    lines = [line.split(" #", 1)[0] for block in fenced for line in block.splitlines()]
    return lines + re.findall(r"`([^`\n]+)`", prose)


def make_targets(markdown: str) -> set[str]:
    """`make run`, `GONGHUI_X=1 make bench`, `make venv web-assets` → their targets."""
    targets = set()
    for code in code_of(markdown):
        for words in re.findall(r"(?:^|[\s;&|(])make((?:\s+[a-z][a-z0-9_-]*)+)", code):
            targets.update(words.split())
    return targets


def cli_subcommands(markdown: str) -> set[str]:
    """`gonghui token …`, `.venv/bin/gonghui dlq list …` → token, dlq."""
    return {
        sub
        for code in code_of(markdown)
        for sub in re.findall(r"(?:^|[\s/(])gonghui\s+([a-z][a-z0-9_-]*)", code)
    }


def python_modules(markdown: str) -> set[str]:
    """`.venv/bin/python -m deploy.docs --check` → deploy.docs."""
    return {
        module
        for code in code_of(markdown)
        for module in re.findall(r"python3?\s+-m\s+([A-Za-z_][\w.]*)", code)
    }


def relative_links(markdown: str) -> list[str]:
    """Link and image targets that are files of this repository (no scheme, no pure anchor)."""
    prose = re.sub(r"^```[^\n]*\n.*?^```", "", markdown, flags=re.MULTILINE | re.DOTALL)
    prose = re.sub(r"`[^`\n]+`", "", prose)
    targets = re.findall(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)", prose)
    return [t for t in targets if not re.match(r"^[a-z][a-z0-9+.-]*:|^#", t)]


def makefile_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z][\w-]*)\s*:(?!=)", text, re.MULTILINE))


def answers_help(commands: list[list[str]]) -> dict[str, str]:
    """Run each command with --help at once (they are small processes); the ones that did not
    exit 0 within the timeout, with why."""
    running = {
        " ".join(cmd): subprocess.Popen(
            [*cmd, "--help"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for cmd in commands
    }
    failed = {}
    for name, process in running.items():
        try:
            out, _ = process.communicate(timeout=HELP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            failed[name] = f"no answer to --help within {HELP_TIMEOUT_S} s"
            continue
        if process.returncode != 0:
            failed[name] = f"exit {process.returncode}: {out[-500:]}"
    return failed


# ---- the extraction itself ---------------------------------------------------------------


def test_commands_are_found_in_code_and_not_in_prose():
    text = (
        "Run `make run` a second time.\n\n"
        "```bash\nGONGHUI_LOCAL_DEMO=0 make venv web-assets   # make nothing\n"
        ".venv/bin/gonghui dlq replay members.member\n"
        ".venv/bin/python -m deploy.docs --check\n```\n\n"
        "Then make sure gonghui token is `gonghui_web.sessions`, and `python -m pytest -q`."
    )
    assert make_targets(text) == {"run", "venv", "web-assets"}
    assert cli_subcommands(text) == {"dlq"}
    assert python_modules(text) == {"deploy.docs", "pytest"}


def test_relative_links_skip_urls_anchors_and_code():
    text = (
        "[a](docs/x.md#part) ![b](img/y.png) [c](https://cloudevents.io) [d](#top)\n"
        "`[e](not/a/link.md)`\n```\n[f](nor/this.md)\n```\n"
    )
    assert relative_links(text) == ["docs/x.md#part", "img/y.png"]


# ---- the README ----------------------------------------------------------------------------


def test_the_two_commands_come_first():
    first_block = README.split("```")[1]
    assert "make run" in first_block and "make test" in first_block


def test_the_readme_stays_a_landing_page():
    # A landing page: the two commands, where to click first (one line per area), security
    # in brief and links. 200 lines leaves room for the areas still to come, not for guides.
    lines = README.count("\n")
    assert lines <= 200, f"README.md has {lines} lines: move the detail into docs/"


def test_readme_links_resolve():
    links = relative_links(README)
    assert any(link.startswith("docs/guide/") for link in links)
    missing = [link for link in links if not (ROOT / link.split("#", 1)[0]).exists()]
    assert not missing, f"README.md links to files that do not exist: {missing}"


def test_every_make_target_the_docs_name_exists():
    named = make_targets(README).union(*(make_targets(text) for text in PAGES.values()))
    assert {"run", "test", "docs"} <= named
    missing = sorted(named - makefile_targets())
    assert not missing, f"named in README.md or docs/ but not in the Makefile: {missing}"


def test_every_command_the_readme_names_answers_help():
    gonghui = shutil.which("gonghui", path=str(Path(sys.executable).parent))
    assert gonghui, "the gonghui command is not installed in this environment"
    subcommands = cli_subcommands(README)
    modules = python_modules(README)
    assert "import" in subcommands and "deploy.docs" in modules
    failed = answers_help(
        [[gonghui, sub] for sub in sorted(subcommands)]
        + [[sys.executable, "-m", module] for module in sorted(modules)]
    )
    assert not failed, failed


# ---- the site ------------------------------------------------------------------------------


def nav_pages(entries: list) -> list[str]:
    pages = []
    for entry in entries:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        if isinstance(value, list):
            pages += nav_pages(value)
        else:
            pages.append(value)
    return pages


def test_every_page_is_in_the_navigation_and_every_nav_entry_has_a_page():
    config = yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=yaml.BaseLoader)
    nav = set(nav_pages(config["nav"]))
    written = {path.relative_to(DOCS).as_posix() for path in PAGES}
    generated = {p for p in nav if p.startswith("reference/")}  # deploy/docs/site.py
    assert written - nav == set(), "pages missing from mkdocs.yml's nav"
    assert nav - written - generated == set(), "nav entries without a page"
    services = {p.name.removesuffix(".openapi.json") for p in (DOCS / "api").glob("*.json")}
    assert {f"reference/api/{s}.md" for s in services} <= generated


def test_the_guide_shows_only_screenshots_that_exist():
    guide = {path: text for path, text in PAGES.items() if "guide" in path.parts}
    images = [
        (path, link)
        for path, text in guide.items()
        for link in relative_links(text)
        if link.endswith(".png")
    ]
    assert len(images) >= 10
    missing = [(p.name, link) for p, link in images if not (p.parent / link).is_file()]
    assert not missing, missing


def test_every_setting_is_documented_in_the_configuration_page():
    page = (DOCS / "operator" / "configuration.md").read_text()
    documented = set(re.findall(r"^\| `(GONGHUI_[A-Z0-9_]+)` \|", page, re.MULTILINE))
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


@pytest.mark.parametrize("page", ["guide/index.md", "guide/member.md", "guide/cadre.md"])
def test_the_user_guide_is_in_chinese(page):
    text = PAGES[DOCS / page]
    prose = re.sub(r"`[^`]*`|\([^)]*\)|\[[^\]]*\]", "", text)
    han = len(re.findall(r"[\u4e00-\u9fff]", prose))
    latin = len(re.findall(r"[A-Za-z]", prose))
    assert han > 3 * latin, (page, han, latin)
