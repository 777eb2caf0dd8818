"""The checkout rules through the API: /shipping (rates), /taxes (rates), /discounts (codes): list, create, get, delete.

All three are small per-store lists (tens of rows), listed whole. Writes are
origin.checkout.rules actions; a duplicate (same discount code, same tax place) is
409; another store's rule is a 404.
"""

from __future__ import annotations

from quart import Blueprint

from origin.checkout import rules
from origin.web.context import current_services
from origin.web.seller.api.framework.idempotency import idempotent
from origin.web.seller.api.framework.parsing import json_body
from origin.web.seller.api.framework.responses import json_response, responds
from origin.web.seller.api.framework.routing import ID
from origin.web.seller.api.schemas.common import Deleted
from origin.web.seller.api.schemas.orders import (
    DiscountIn,
    DiscountOut,
    DiscountPage,
    ShippingRateIn,
    ShippingRateOut,
    ShippingRatePage,
    TaxRateIn,
    TaxRateOut,
    TaxRatePage,
)
from origin.web.seller.api_tokens import api_tenant, require_api_tenant

blueprint = Blueprint("checkout_rules", __name__)


def _out(kind: str, row: dict):
    if kind == "shipping":
        return ShippingRateOut.build(row, api_tenant().currency_digits)
    if kind == "taxes":
        return TaxRateOut.build(row)
    return DiscountOut.build(row)


PAGES = {"shipping": ShippingRatePage, "taxes": TaxRatePage, "discounts": DiscountPage}
OUTS = {"shipping": ShippingRateOut, "taxes": TaxRateOut, "discounts": DiscountOut}
INS = {"shipping": ShippingRateIn, "taxes": TaxRateIn, "discounts": DiscountIn}
SUMMARIES = {"shipping": "shipping rate", "taxes": "tax rate", "discounts": "discount code"}


def _routes(kind: str) -> None:
    summary = SUMMARIES[kind]

    @blueprint.get(f"/{kind}", endpoint=f"list_{kind}")
    @require_api_tenant
    @responds(200, PAGES[kind], errors=(401, 403))
    async def list_rules():
        async with current_services().db.connect() as conn:
            rows = await rules.select_rules(conn, api_tenant().id, kind)
        return json_response(PAGES[kind](items=[_out(kind, row) for row in rows]))

    list_rules.__doc__ = f"Every {summary} of the store."

    @blueprint.post(f"/{kind}", endpoint=f"create_{kind}")
    @require_api_tenant
    @idempotent
    @responds(201, OUTS[kind], errors=(400, 401, 403, 409, 415, 422))
    @json_body(INS[kind])
    async def create_rule(data):
        values = data.model_dump()
        for name in ("starts_at", "ends_at"):
            if values.get(name) is not None and values[name].tzinfo is None:
                values[name] = values[name].isoformat()  # refused by the rule's own check, naming the field
        row = await rules.do_create_rule(current_services(), api_tenant().id, kind, values)
        return json_response(_out(kind, row), 201)

    create_rule.__doc__ = f"Create a {summary}."

    @blueprint.get(f"/{kind}/<{ID}:rule_id>", endpoint=f"get_{kind}")
    @require_api_tenant
    @responds(200, OUTS[kind], errors=(401, 403, 404))
    async def get_rule(rule_id: int):
        async with current_services().db.connect() as conn:
            row = await rules.select_rule(conn, api_tenant().id, kind, rule_id)
        return json_response(_out(kind, row))

    get_rule.__doc__ = f"One {summary}."

    @blueprint.delete(f"/{kind}/<{ID}:rule_id>", endpoint=f"delete_{kind}")
    @require_api_tenant
    @responds(200, Deleted, errors=(401, 403, 404))
    async def delete_rule(rule_id: int):
        await rules.do_delete_rule(current_services(), api_tenant().id, kind, rule_id)
        return json_response(Deleted(id=rule_id))

    delete_rule.__doc__ = f"Delete a {summary}."


for _kind in ("shipping", "taxes", "discounts"):
    _routes(_kind)
