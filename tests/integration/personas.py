"""The callers of the authorization matrices, one table for every service.

Each persona is a token as members issues it (`grants_for`): a plain member, a group leader
(小组长: cadre of their campus), a cadre of each campus, finance, an auditor, the school
union's chair (admin of every campus, and cadre and member of main), a service admin, a
token with several campuses (cadre of main and east), another system, and no token.

A row of a matrix names the expected status for the *base* personas; the others follow one
of them unless the row says otherwise (`FOLLOWS`): so a row stays short, and a change in one
rule (say, the chair losing a power an admin keeps) is one keyword in the rows it touches.
"""

from __future__ import annotations

import uuid

from tests.integration.conftest import bearer

RUN = uuid.uuid4().hex[:6]
# Members the tokens speak for (events and notify know them by these ids).
SELF = f"m-authz-self-{RUN}"  # the target of member routes: a plain member of main
OTHER = f"m-authz-other-{RUN}"  # another member of main
LEADER = f"m-authz-leader-{RUN}"  # 小组长 of main

TOKENS: dict[str, tuple[str, list[str], list[str]] | None] = {
    "member": (SELF, ["member"], ["main"]),
    "other_member": (OTHER, ["member"], ["main"]),
    "group_leader": (LEADER, ["cadre", "member"], ["main"]),
    "cadre_main": ("cadre-main", ["cadre", "member"], ["main"]),
    "cadre_east": ("cadre-east", ["cadre", "member"], ["east"]),
    "cadre_west": ("cadre-west", ["cadre", "member"], ["west"]),
    "cadre_north": ("cadre-north", ["cadre", "member"], ["north"]),
    "finance": ("finance-main", ["finance", "member"], ["main"]),
    "auditor": ("auditor-main", ["auditor", "member"], ["main"]),
    "chair": ("chair", ["admin", "cadre", "member"], ["*", "main"]),
    "admin": ("admin-all", ["admin"], ["*"]),
    "multi_campus": ("cadre-main-east", ["cadre", "member"], ["east", "main"]),
    "system": ("hr-system", ["system"], ["*"]),
    "anonymous": None,
}
PERSONAS = tuple(TOKENS)

# A persona not named in a row answers as the one it follows.
FOLLOWS = {
    "group_leader": "cadre_main",
    "cadre_west": "cadre_east",
    "cadre_north": "cadre_east",
    "chair": "admin",
    "multi_campus": "cadre_main",
}


def headers(persona: str) -> dict[str, str]:
    token = TOKENS[persona]
    return bearer(*token) if token else {}


def expect(default: int, anonymous: int = 401, **by_persona: int) -> dict[str, int]:
    """Every persona's expected status: `default`, with the ones named, and the followers
    as the persona they follow (unless named themselves)."""
    statuses = {p: default for p in PERSONAS if p not in FOLLOWS}
    statuses["anonymous"] = anonymous
    statuses.update({p: s for p, s in by_persona.items() if p not in FOLLOWS})
    for follower, leader in FOLLOWS.items():
        statuses[follower] = by_persona.get(follower, statuses[leader])
    return dict(sorted(statuses.items(), key=lambda kv: PERSONAS.index(kv[0])))


PUBLIC = expect(200, anonymous=200)


def routes_of(app) -> set[tuple[str, str]]:
    """(METHOD, path template) of every route of an app, from its OpenAPI document."""
    spec = app.openapi()
    return {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}


def as_row(got: dict[str, int]) -> str:
    """The shortest `expect(...)` that gives `got`: how a failing row reads, ready to paste."""
    base = [p for p in PERSONAS if p not in FOLLOWS and p != "anonymous"]
    counts: dict[int, int] = {}
    for p in base:
        counts[got[p]] = counts.get(got[p], 0) + 1
    default = max(counts, key=lambda s: counts[s])
    named = {p: got[p] for p in base if got[p] != default}
    for follower, leader in FOLLOWS.items():
        if got[follower] != got[leader]:
            named[follower] = got[follower]
    args = [str(default)] + ([f"anonymous={got['anonymous']}"] if got["anonymous"] != 401 else [])
    args += [f"{p}={s}" for p, s in named.items()]
    return f"expect({', '.join(args)})"
