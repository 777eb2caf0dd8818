"""Orders through the API: list (filters, cursor), get, cancel, fulfil, refund, mark paid.

Every write is a ``do_*`` action of origin.orders.lifecycle; POSTs take an
``Idempotency-Key`` (the framework replays a retried request's first answer), and a
refund *requires* one: it is also the key the payment provider sees, so a refund is
never sent twice. Another store's order is a 404, like one that does not exist.
"""

from __future__ import annotations

from origin.numbers import parse_bounded_int
from quart import Blueprint, request

from origin.orders import lifecycle, unpaid
from origin.orders.errors import OrderError, OrderErrorCode
from origin.orders.records import select_orders
from origin.web.context import current_services
from origin.web.seller.api.framework.idempotency import HEADER, idempotent, validate_key
from origin.web.seller.api.framework.parsing import json_body, query_args
from origin.web.seller.api.framework.responses import json_response, responds
from origin.web.seller.api.framework.routing import ID
from origin.web.seller.api.schemas.orders import CancelIn, FulfilIn, OrderListQuery, OrderOut, OrderPage, RefundIn
from origin.web.seller.api_tokens import api_tenant, require_api_tenant

blueprint = Blueprint("orders", __name__)

ORDER_PATH = f"/orders/<{ID}:order_id>"


def _out(order) -> OrderOut:
    return OrderOut.build(order, api_tenant().currency_digits)


def _cursor(value: str | None) -> int | None:
    if value is None:
        return None
    cursor = parse_bounded_int(value)
    if cursor is None:
        raise OrderError(OrderErrorCode.INVALID_LINES, "cursor is not one this listing handed out", field="cursor")
    return cursor


@blueprint.get("/orders")
@require_api_tenant
@responds(200, OrderPage, errors=(401, 403, 422))
@query_args(OrderListQuery)
async def list_orders(query: OrderListQuery):
    """The store's orders, newest first; filter by status or email; page with `next_cursor`."""
    async with current_services().db.connect() as conn:
        rows = await select_orders(
            conn, api_tenant().id, limit=query.limit + 1, before_id=_cursor(query.cursor),
            financial_status=query.financial_status, fulfillment_status=query.fulfillment_status, email=query.email,
        )
    page = rows[: query.limit]
    return json_response(OrderPage(items=[_out(order) for order in page], next_cursor=str(page[-1].id) if len(rows) > query.limit else None))


@blueprint.get(ORDER_PATH)
@require_api_tenant
@responds(200, OrderOut, errors=(401, 403, 404))
async def get_order(order_id: int):
    """One order with its lines, payments, fulfilments and timeline."""
    async with current_services().db.connect() as conn:
        order = await lifecycle.require_order(conn, api_tenant().id, order_id)
    return json_response(_out(order))


@blueprint.post(f"{ORDER_PATH}/cancel")
@require_api_tenant
@idempotent
@responds(200, OrderOut, errors=(400, 401, 403, 404, 409, 415, 422, 503))
@json_body(CancelIn)
async def cancel_order(order_id: int, data: CancelIn):
    """Cancel an unpaid (or fully refunded) unfulfilled order; stock goes back unless `restock` is false.

    An open online payment (a Stripe Checkout Session) is expired first, so it can no longer be
    paid; if the shopper paid first, the order is marked paid and the cancel answers 409 (refund it).
    """
    return json_response(_out(await unpaid.do_cancel_unpaid_order(current_services(), api_tenant().id, order_id, restock=data.restock)))


@blueprint.post(f"{ORDER_PATH}/fulfil")
@require_api_tenant
@idempotent
@responds(200, OrderOut, errors=(400, 401, 403, 404, 409, 415, 422))
@json_body(FulfilIn)
async def fulfil_order(order_id: int, data: FulfilIn):
    """Ship lines (or everything left) with an optional tracking number; the shopper is emailed."""
    lines = None if data.lines is None else [(line.line_id, line.quantity) for line in data.lines]
    order = await lifecycle.do_fulfil_order(
        current_services(), api_tenant().id, order_id, lines, tracking_number=data.tracking_number, tracking_url=data.tracking_url, carrier=data.carrier
    )
    return json_response(_out(order))


@blueprint.post(f"{ORDER_PATH}/refund")
@require_api_tenant
@idempotent
@responds(200, OrderOut, errors=(400, 401, 403, 404, 409, 415, 422, 503))
@json_body(RefundIn)
async def refund_order(order_id: int, data: RefundIn):
    """Refund lines or the rest of the order through its payment provider (Idempotency-Key required)."""
    key = request.headers.get(HEADER)
    if key is None:
        raise OrderError(OrderErrorCode.INVALID_AMOUNT, "a refund needs an Idempotency-Key header (the provider sees it too)", field=HEADER)
    lines = None if data.lines is None else [(line.line_id, line.quantity) for line in data.lines]
    order = await lifecycle.do_refund_order(current_services(), api_tenant().id, order_id, validate_key(key), lines=lines, restock=data.restock)
    return json_response(_out(order))


@blueprint.post(f"{ORDER_PATH}/mark-paid")
@require_api_tenant
@idempotent
@responds(200, OrderOut, errors=(401, 403, 404, 409))
async def mark_paid(order_id: int):
    """A manual payment (bank transfer, cash on delivery) arrived."""
    return json_response(_out(await lifecycle.do_mark_paid(current_services(), api_tenant().id, order_id)))



