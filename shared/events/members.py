"""Events published by the members service on topic `members.member`."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from shared.events import IntegrationEvent


class MemberJoined(IntegrationEvent):
    """A person became a union member (入会)."""

    type = "members.member.joined.v1"
    topic = "members.member"
    summary = "会员入会"
    subject_field = "member_id"

    member_id: str = Field(description="member id (aggregate id)")
    staff_no: str = Field(description="school staff number (工号)")
    name: str = Field(description="member's name")
    campus: str = Field(description="campus code")
    department: str = Field(description="department (部门/系部)")
    email: str | None = Field(None, description="e-mail for notices, if the member gave one")
    joined_on: date = Field(description="date of joining, Asia/Shanghai")


class MemberWithdrawn(IntegrationEvent):
    """A member left the union (退会): subscribers drop their future registrations and
    unclaimed entitlements."""

    type = "members.member.withdrawn.v1"
    topic = "members.member"
    summary = "会员退会"
    subject_field = "member_id"

    member_id: str = Field(description="member id (aggregate id)")
    campus: str = Field(description="campus code")
    department: str = Field(description="department (部门/系部)")
    withdrawn_on: date = Field(description="date of leaving, Asia/Shanghai")
