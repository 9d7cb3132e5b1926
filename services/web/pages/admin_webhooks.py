"""Webhook subscriptions under /admin/webhooks (admin): register one (its secret shown once,
on the answer page, never in a URL), pause and resume, rotate the secret, and each one's
delivery log with redelivery. notify refuses everyone but admins (403), and a URL to a
private address (422), with its own words; the pages show them."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import Response

from services.web.backend import ApiError
from services.web.context import StaffVisit, Visit, redirect

router = APIRouter(prefix="/admin/webhooks")

SubscriptionId = Annotated[str, Path(pattern=r"^wh-[0-9a-f]{12}$")]
DeliveryId = Annotated[str, Path(max_length=300, pattern=r"^wh-[0-9a-f]{12}:[A-Za-z0-9._:-]+$")]
FLASH = {
    "pause": "已暂停：新的事件会保留，恢复后再投递",
    "resume": "已恢复投递",
    "redeliver": "已安排重新投递",
}


@router.get("")
async def webhooks(visit: StaffVisit) -> Response:
    """The subscriptions and the form to register one; role: admin."""
    return await list_view(visit)


async def list_view(
    visit: Visit, *, form: dict[str, Any] | None = None, error: str | None = None
) -> Response:
    subs, types, _ = await asyncio.gather(
        visit.get("notify", "/webhooks"),
        visit.get("notify", "/webhooks/event-types"),
        visit.org(),
    )
    return visit.render(
        "admin/webhooks.html",
        status_code=422 if error else 200,
        subs=subs,
        types=types,
        form=form or {"types": []},
        error=error,
        section="webhooks",
    )


@router.post("")
async def register(visit: StaffVisit) -> Response:
    """Register a subscription: the answer page shows its secret once; role: admin."""
    form = await visit.request.form()
    body = {
        "url": str(form.get("url") or "").strip(),
        "types": [str(t) for t in form.getlist("types")],
        "campus": str(form.get("campus") or "*"),
        "description": str(form.get("description") or "").strip(),
    }
    try:
        created = await visit.post("notify", "/webhooks", json=body)
    except ApiError as exc:
        if exc.status != 422:
            raise
        return await list_view(visit, form=body, error=exc.message)
    return visit.render("admin/webhook_secret.html", sub=created, new=True, section="webhooks")


@router.get("/{subscription_id}")
async def webhook(visit: StaffVisit, subscription_id: SubscriptionId, msg: str = "") -> Response:
    """One subscription: its state, deliveries and delivery log; role: admin."""
    return await detail_view(visit, subscription_id, flash=FLASH.get(msg))


async def detail_view(
    visit: Visit, subscription_id: str, *, flash: str | None = None, error: str | None = None
) -> Response:
    base = f"/webhooks/{subscription_id}"
    sub, deliveries, log, _ = await asyncio.gather(
        visit.get("notify", base),
        visit.get("notify", f"{base}/deliveries", params={"limit": 50}),
        visit.get("notify", f"{base}/log", params={"limit": 100}),
        visit.org(),
    )
    return visit.render(
        "admin/webhook.html",
        status_code=409 if error else 200,
        sub=sub,
        deliveries=deliveries,
        log=log,
        flash=flash,
        error=error,
        section="webhooks",
    )


@router.post("/{subscription_id}/pause")
async def pause(visit: StaffVisit, subscription_id: SubscriptionId) -> Response:
    """Pause deliveries; role: admin."""
    await visit.post("notify", f"/webhooks/{subscription_id}/pause")
    return redirect(f"/admin/webhooks/{subscription_id}?msg=pause")


@router.post("/{subscription_id}/resume")
async def resume(visit: StaffVisit, subscription_id: SubscriptionId) -> Response:
    """Resume deliveries (what waited goes out); role: admin."""
    await visit.post("notify", f"/webhooks/{subscription_id}/resume")
    return redirect(f"/admin/webhooks/{subscription_id}?msg=resume")


@router.post("/{subscription_id}/secret")
async def rotate_secret(visit: StaffVisit, subscription_id: SubscriptionId) -> Response:
    """A new secret, shown once on the answer page; role: admin."""
    rotated = await visit.post("notify", f"/webhooks/{subscription_id}/secret")
    return visit.render("admin/webhook_secret.html", sub=rotated, new=False, section="webhooks")


@router.post("/{subscription_id}/deliveries/{delivery_id}/redeliver")
async def redeliver(
    visit: StaffVisit, subscription_id: SubscriptionId, delivery_id: DeliveryId
) -> Response:
    """Send one delivery again; role: admin (a paused subscription says so)."""
    try:
        await visit.post(
            "notify", f"/webhooks/{subscription_id}/deliveries/{delivery_id}/redeliver"
        )
    except ApiError as exc:
        if exc.status != 409:
            raise
        return await detail_view(visit, subscription_id, error=exc.message)
    return redirect(f"/admin/webhooks/{subscription_id}?msg=redeliver")
