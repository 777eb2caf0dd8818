"""Checkout on the tenant's host (issue 15): GET /checkout, the step POSTs, the payment return, the order page.

Server-rendered, works without JavaScript, ``Cache-Control: private, no-store`` and
``noindex`` on every response: nothing here is ever cached by the edge (it never caches
a private response). The cart cookie names the checkout (origin/cart/signing.py); every
POST must come from the shop's own pages (same-origin check) and carry the cart's CSRF
token.

    GET  /checkout             the whole checkout on one page, each part appearing once the
                               one before it is done: contact + address, shipping method,
                               discount code, totals (taxes line by line), payment
    POST /checkout/details     email and shipping address (validated per country)
    POST /checkout/shipping    the shipping method
    POST /checkout/discount    a discount code (empty removes it)
    POST /checkout/reserve     continue to payment: the stock is held for 15 minutes
    POST /checkout/pay         place the order (Idempotency-Key from the form), then pay
    GET  /checkout/return      back from Stripe: settle by the one conditional transition
    GET  /orders/<id>?key=     the order status page, through its signed link
    GET  /cart/count.json      the cart's item count, for cached pages (small, uncached)

A form error re-renders the page with the shopper's input kept and the message beside
the field: 400 for bad input, 409 for a state conflict (sold out, already ordered).
"""

from __future__ import annotations

from origin.numbers import parse_bounded_int
import secrets

from quart import Blueprint, Response, jsonify, request

from origin.cart.carts import CartError, CartErrorCode
from origin.cart.signing import cart_cookie_name, csrf_token, verify_csrf_token
from origin.checkout.carts import load_cart, select_order_id
from origin.checkout.errors import CheckoutError, CheckoutErrorCode
from origin.checkout.fetch import CheckoutInfo, fetch_checkout
from origin.checkout.placement import do_place_order, start_payment
from origin.checkout.steps import do_reserve, do_update_checkout
from origin.db import utcnow
from origin.errors import ErrorKind, ZellyError
from origin.orders.lifecycle import settle_payment
from origin.orders.links import order_status_path, verify_order_status_key
from origin.orders.records import select_order
from origin.payments.errors import PaymentError, PaymentUnavailable
from origin.payments.stripe import providers_of
from origin.tenancy.resolution import TenantSite
from origin.web.context import current_services
from origin.web.errors import status_for
from origin.web.storefront.beacon import shopper_from_request
from origin.web.storefront.cart import cookie_cart_id, keyring, private, require_same_origin
from origin.web.redirects import redirect_response
from origin.web.storefront.site import HTML, Halt, current_host, current_site, render, shop_view, themed_error
from storefront import views

blueprint = Blueprint("checkout", __name__)

PROVIDER_LABELS = {"manual": "Bank transfer or cash on delivery (pay later)", "stripe": "Card (Stripe)"}
ADDRESS_FIELDS = ("name", "line1", "line2", "city", "region", "postal_code", "country")


def _page(site: TenantSite, title: str) -> views.PageMeta:
    return views.PageMeta(title=f"{title} – {site.tenant.name}", robots="noindex")


def _no_index(response: Response) -> Response:
    response.headers["X-Robots-Tag"] = "noindex"
    return private(response)


def checkout_view(site: TenantSite, info: CheckoutInfo | None, *, token: str | None, reserved: bool = False) -> dict:
    """Plain data for checkout.html (money formatted here; the template does no arithmetic)."""
    shop = shop_view(site)
    if info is None or not info.lines:
        return {"is_empty": True, "lines": [], "problems": []}
    now = utcnow()
    totals = info.totals(now)
    problems = [f"Only {line.available} of {line.title} left; lower the quantity in your cart." for line in info.short_lines()]
    if info.missing_variant_ids:
        problems.append("An item in your cart is no longer sold; it is left out.")
    if info.discount is not None and info.discount.problem_at(now):
        problems.append(f"The discount code {info.discount.code} cannot be used: {info.discount.problem_at(now)}.")
    address = info.address.as_dict() if info.address else {}
    tax_rate = info.tax_rate
    rates = info.rates_for_address()
    return {
        "is_empty": False,
        "csrf_token": csrf_token(keyring(), site.tenant.id, token) if token else "",
        "email": info.email or "",
        "address": {name: address.get(name, "") for name in ADDRESS_FIELDS},
        "has_details": bool(info.email and info.address),
        "lines": [
            {"title": line.title, "variant_title": line.variant_title, "quantity": line.quantity, "unit_price": shop.money(line.unit_price),
             "total": shop.money(priced.subtotal), "tax": shop.money(priced.tax)}
            for line, priced in zip(info.lines, totals.lines)
        ],
        "problems": problems,
        "rates": [{"id": rate.id, "name": rate.name, "price": shop.money(rate.price_for(totals.subtotal, totals.weight_grams, info.currency)),
                   "selected": rate.id == info.shipping_rate_id} for rate in rates],
        "no_rates": bool(info.address) and not rates,
        "has_shipping": info.shipping_rate is not None,
        "discount_code": info.discount_code or "",
        "subtotal": shop.money(totals.subtotal),
        "discount": shop.money(totals.discount) if totals.discount else "",
        "shipping": shop.money(totals.shipping) if info.shipping_rate else "",
        "tax": shop.money(totals.tax),
        "tax_label": (f"Tax ({tax_rate.rate * 100:.4g} %, included)" if tax_rate.is_inclusive else f"Tax ({tax_rate.rate * 100:.4g} %)") if tax_rate else "Tax",
        "total": shop.money(totals.total),
        "is_ready": bool(info.email and info.address and info.shipping_rate and not problems),
        "is_reserved": reserved,
        "providers": [{"name": name, "label": PROVIDER_LABELS.get(name, name)} for name in providers_of(current_services()).names],
        "idempotency_key": secrets.token_urlsafe(24),
    }


async def _render_checkout(site: TenantSite, token: str | None, *, status: int = 200, error: ZellyError | None = None, form=None, reserved: bool = False) -> Response:
    async with current_services().db.connect() as conn:
        info = await fetch_checkout(conn, site.tenant.id, token) if token else None
    if info is not None and info.status != "open":
        info = None
    view = checkout_view(site, info, token=token, reserved=reserved)
    if form is not None and not view["is_empty"]:
        view["email"] = form.get("email", view["email"])
        view["address"] = {name: form.get(name, view["address"][name]) for name in ADDRESS_FIELDS}
        if "discount_code" in form:
            view["discount_code"] = form.get("discount_code", "")
    body = await render(site, "checkout.html", _page(site, "Checkout"), checkout=view, error=error.as_dict() if error else None)
    return _no_index(Response(body, status=status, content_type=HTML))


async def _handle(handler):
    try:
        return await handler()
    except Halt as halt:
        return halt.response
    except CartError as error:
        site = await current_site()
        return _no_index(await themed_error(site, status_for(error, page=True), "We could not continue your checkout", error.message[0].upper() + error.message[1:] + "."))


async def _form_and_token(site: TenantSite):
    require_same_origin()
    form = await request.form
    token = cookie_cart_id(site)
    if token is None or not verify_csrf_token(keyring(), site.tenant.id, token, form.get("csrf_token")):
        raise CartError(CartErrorCode.INVALID_CSRF, "your checkout session has expired; reload the checkout page and try again", kind=ErrorKind.FORBIDDEN)
    return form, token


@blueprint.get("/checkout")
async def show_checkout():
    async def handle():
        site = await current_site()
        return await _render_checkout(site, cookie_cart_id(site))

    return await _handle(handle)


def _step(fields: tuple[str, ...] | None):
    async def handle():
        site = await current_site()
        form, token = await _form_and_token(site)
        values = {name: form.get(name, "") for name in fields} if fields else {}
        try:
            await do_update_checkout(current_services(), site.tenant.id, token, values)
        except CheckoutError as error:
            return await _render_checkout(site, token, status=status_for(error, page=True), error=error, form=form)
        return _no_index(redirect_response("/checkout", 303))

    return handle


@blueprint.post("/checkout/details")
async def details():
    return await _handle(_step(("email", *ADDRESS_FIELDS)))


@blueprint.post("/checkout/shipping")
async def shipping():
    return await _handle(_step(("shipping_rate_id",)))


@blueprint.post("/checkout/discount")
async def discount():
    return await _handle(_step(("discount_code",)))


@blueprint.post("/checkout/reserve")
async def reserve():
    async def handle():
        site = await current_site()
        form, token = await _form_and_token(site)
        try:
            await do_reserve(current_services(), site.tenant.id, token, shopper=shopper_from_request(), store_host=current_host())
        except CheckoutError as error:
            return await _render_checkout(site, token, status=status_for(error, page=True), error=error)
        return await _render_checkout(site, token, reserved=True)

    return await _handle(handle)


def _absolute(site: TenantSite, path: str) -> str:
    return shop_view(site).absolute(path)


@blueprint.post("/checkout/pay")
async def pay():
    async def handle():
        site = await current_site()
        form, token = await _form_and_token(site)
        services = current_services()
        provider = str(form.get("payment_provider") or "")
        try:
            placed = await do_place_order(
                services, site.tenant.id, token, form.get("idempotency_key"), provider, shopper=shopper_from_request(), store_host=current_host()
            )
        except CheckoutError as error:
            if error.code == CheckoutErrorCode.COMPLETED.value:
                return await _already_ordered(site, token)
            return await _render_checkout(site, token, status=status_for(error, page=True), error=error, reserved=True)
        status_path = order_status_path(keyring(), site.tenant.id, placed.order_id)
        if placed.payment_provider == "manual":
            return _forget_cart(redirect_response(status_path, 303))
        try:
            started = await start_payment(
                services, site.tenant.id, placed.order_id,
                success_url=_absolute(site, f"/checkout/return?order={placed.order_id}"), cancel_url=_absolute(site, status_path),
            )
        except PaymentError as error:
            # The order exists and holds its stock; its page offers to pay again (same key at the provider).
            return _forget_cart(redirect_response(status_path + "&payment=" + ("retry" if isinstance(error, PaymentUnavailable) else "failed"), 303))
        return _forget_cart(redirect_response(started.redirect_url or status_path, 303))

    return await _handle(handle)


async def _already_ordered(site: TenantSite, token: str) -> Response:
    """A second Pay on an ordered cart (a reload, another tab): show the order that was placed."""
    async with current_services().db.connect() as conn:
        order_id = await select_order_id(conn, site.tenant.id, token)
    if order_id is not None:
        return _forget_cart(redirect_response(order_status_path(keyring(), site.tenant.id, order_id), 303))
    return _no_index(redirect_response("/cart", 303))


def _forget_cart(response: Response) -> Response:
    """The cart became an order: the browser starts a new one."""
    scheme = current_services().settings.public_scheme
    response.delete_cookie(cart_cookie_name(scheme), path="/", secure=scheme == "https", httponly=True, samesite="Lax")
    return _no_index(response)


@blueprint.get("/checkout/return")
async def payment_return():
    async def handle():
        site = await current_site()
        order_id = request.args.get("order", "")
        session_id = request.args.get("session_id", "")
        if parse_bounded_int(order_id, low=1) is None or not session_id or len(session_id) > 255:
            return _no_index(await themed_error(site, 400, "Payment link not recognised", "Open your order from the link in your confirmation email."))
        services = current_services()
        async with services.db.connect() as conn:
            order = await select_order(conn, site.tenant.id, int(order_id))
        if order is None or not any(payment.provider_reference == session_id for payment in order.payments):
            return _no_index(await themed_error(site, 404, "Order not found", "There is no such order in this shop."))
        provider = providers_of(services).get("stripe")
        if provider is not None:
            try:
                await settle_payment(services, "stripe", await provider.lookup(session_id))
            except PaymentError:
                pass  # the webhook settles it; the order page says the payment is being confirmed
        return _no_index(redirect_response(order_status_path(keyring(), site.tenant.id, order.id), 303))

    return await _handle(handle)


@blueprint.get("/orders/<int:order_id>")
async def order_status(order_id: int):
    async def handle():
        site = await current_site()
        if not verify_order_status_key(keyring(), site.tenant.id, order_id, request.args.get("key")):
            return _no_index(await themed_error(site, 404, "Order not found", "Open your order from the link in your confirmation email."))
        async with current_services().db.connect() as conn:
            order = await select_order(conn, site.tenant.id, order_id)
        if order is None:
            return _no_index(await themed_error(site, 404, "Order not found", "There is no such order in this shop."))
        shop = shop_view(site)
        view = {
            "number": order.number, "email": order.email, "financial_status": order.financial_status,
            "fulfillment_status": order.fulfillment_status, "is_cancelled": order.cancelled_at is not None,
            "payment_provider": order.payment_provider,
            "lines": [{"title": line.title, "variant_title": line.variant_title, "quantity": line.quantity, "total": shop.money(line.total_price)} for line in order.lines],
            "subtotal": shop.money(order.subtotal_price), "shipping": shop.money(order.shipping_price), "tax": shop.money(order.tax_price),
            "discount": shop.money(order.discount_price) if order.discount_price else "", "total": shop.money(order.total_price),
            "taxes_included": order.taxes_included, "address": order.shipping_address or {}, "shipping_method": order.shipping_method,
            "tracking": [{"number": f.tracking_number, "url": f.tracking_url, "carrier": f.carrier} for f in order.fulfillments if f.tracking_number],
            "payment_notice": {"retry": "We could not reach the payment provider. Your order is saved; please try again in a moment.",
                               "failed": "The payment did not go through. Your order is saved but unpaid."}.get(request.args.get("payment", ""), ""),
        }
        body = await render(site, "order_status.html", _page(site, f"Order {order.number}"), order=view)
        return _no_index(Response(body, content_type=HTML))

    return await _handle(handle)


@blueprint.get("/cart/count.json")
async def cart_count():
    async def handle():
        site = await current_site()
        cart = await load_cart(current_services(), site.tenant.id, cookie_cart_id(site))
        return private(jsonify({"count": sum(quantity for _, quantity in cart.lines)}))

    return await _handle(handle)
