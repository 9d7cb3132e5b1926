"""Templates (pure): Jinja2 in its sandbox, validated before they are saved.

A template may only name the values its route provides (`DefaultTemplate.sample`); an unknown
name or a syntax error is refused with its line (422 `template.invalid`). Text is rendered
without escaping (it is text); the HTML part of an e-mail escapes it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from html import escape
from typing import Any

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, nodes
from jinja2.sandbox import SandboxedEnvironment

from services.notify.templates.defaults import DEFAULTS, DefaultTemplate
from shared.errors import Invalid, NotFound

log = logging.getLogger(__name__)

ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
MAX_LENGTH = 4000


@dataclass(frozen=True)
class TemplateText:
    title: str
    body: str


@dataclass(frozen=True)
class Rendered:
    title: str
    text: str

    @property
    def html(self) -> str:
        paragraphs = "".join(
            f"<p>{escape(p).replace(chr(10), '<br>')}</p>" for p in self.text.split("\n\n")
        )
        return (
            '<!doctype html><html lang="zh-CN"><body style="font-family:sans-serif;'
            f'line-height:1.6"><h3>{escape(self.title)}</h3>{paragraphs}'
            '<p style="color:#888;font-size:12px">学校工会 · 本邮件由系统发送，请勿直接回复</p>'
            "</body></html>"
        )


def default_of(key: str) -> DefaultTemplate:
    found = DEFAULTS.get(key)
    if found is None:
        raise NotFound("template.not_found", f"没有名为「{key}」的通知模板", key=key)
    return found


def _check(source: str, part: str, allowed: set[str]) -> None:
    try:
        tree = ENV.parse(source)
    except TemplateSyntaxError as exc:
        raise Invalid(
            "template.invalid",
            f"{part}第{exc.lineno}行有语法错误：{exc.message}",
            part=part,
            line=exc.lineno,
        ) from exc
    assigned = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
    for name in tree.find_all(nodes.Name):
        if name.ctx == "load" and name.name not in allowed | assigned:
            raise Invalid(
                "template.invalid",
                f"{part}第{name.lineno}行：未知变量「{name.name}」，可用变量："
                + "、".join(sorted(allowed)),
                part=part,
                line=name.lineno,
                variable=name.name,
            )


def validate(key: str, text: TemplateText) -> Rendered:
    """Refuse a template that does not parse or names unknown values; the sample rendering."""
    default = default_of(key)
    allowed = set(default.sample)
    for part, source, limit in (("标题", text.title, 200), ("正文", text.body, MAX_LENGTH)):
        if not source.strip() or len(source) > limit:
            raise Invalid(
                "template.invalid", f"{part}不能为空，且不超过{limit}个字符", part=part, line=1
            )
        _check(source, part, allowed)
    try:
        return render(text, default.sample)
    except TemplateError as exc:  # a sandbox refusal, a filter that does not exist …
        raise Invalid(
            "template.invalid", f"模板无法用示例数据生成：{exc}", part="正文", line=1
        ) from exc


def render(text: TemplateText, variables: Mapping[str, Any]) -> Rendered:
    title = ENV.from_string(text.title).render(variables).strip()
    body = ENV.from_string(text.body).render(variables).strip()
    return Rendered(" ".join(title.split()), body)


def default_text(key: str) -> TemplateText:
    default = default_of(key)
    return TemplateText(default.title, default.body)


def render_message(
    text: TemplateText,
    variables: Mapping[str, Any],
    *,
    template: str,
    campus: str,
    event_type: str,
    warned: set[str] | None = None,
) -> Rendered:
    """The message in the campus's wording, else in the default zh-CN wording.

    An override is validated against the sample data only, and a real event may carry what
    the sample does not (an empty waitlist number): its failure must neither dead-letter the
    event (nobody would hear of it) nor fail the delivery, so the default says it instead. The
    log names the template, never the values (they are personal). The default failing raises.
    `warned`: the campuses already logged for this event (one line, not one per recipient).
    """
    try:
        return render(text, variables)
    except Exception as exc:
        default = default_text(template)
        if text == default:
            raise
        if warned is None or campus not in warned:
            log.warning(
                "template %s of campus %s does not render for %s (%s): the default is used",
                template,
                campus,
                event_type,
                type(exc).__name__,  # not its message: that may quote a value
            )
            if warned is not None:
                warned.add(campus)
        return render(default, variables)
