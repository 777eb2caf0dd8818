"""The cart: GET /cart, POST /cart/add, /cart/update, /cart/remove. Never cached.

The cart id lives in a cookie signed with the keyring's cart-cookie key (Services.keyring)
(origin/cart/signing.py); the cart itself in a checkout's rows
(origin/checkout/carts.py). Every response here is ``private, no-store``.

CSRF: the add form sits on publicly cached product pages, which cannot carry a
per-shopper token, so POSTs must come from this very origin (``Origin`` /
``Sec-Fetch-Site``, which browsers set and pages cannot forge) and the cookie
is SameSite=Lax. Update and remove forms are on the private cart page and also
carry a token bound to the cart.
"""

from __future__ import annotations

from quart import Blueprint, Response, request

from origin.cart.carts import (
    Cart,
    CartError,
    CartErrorCode,
    add_to_cart,
    parse_quantity,
    parse_variant_id,
)
from origin.checkout.carts import is_completed, load_cart, save_cart
from origin.checkout.errors import CheckoutError
from origin.cart.signing import cart_cookie_name, csrf_token, new_cart_id, sign_cart_cookie, verify_cart_cookie, verify_csrf_token
from origin.analytics.emit import emit_add_to_cart
from origin.catalog.storefront_queries import select_cart_variants
from origin.errors import ErrorKind
from origin.keyring import Keyring
from origin.tenancy.resolution import TenantSite
from origin.web.storefront.beacon import shopper_from_request
from origin.web.context import current_services
from origin.web.rate_limits import limit_cart_write
from origin.web.errors import status_for
from origin.web.redirects import redirect_response
from origin.web.storefront.site import HTML, NO_STORE, Halt, current_host, current_site, render, shop_view, themed_error
from storefront import views
from storefront.i18n import N_

blueprint = Blueprint("cart", __name__)

COOKIE_MAX_AGE = 14 * 24 * 3600


def keyring() -> Keyring:
    return current_services().keyring


def cookie_cart_id(site: TenantSite) -> str | None:
    return verify_cart_cookie(keyring(), site.tenant.id, request.cookies.get(cart_cookie_name(current_services().settings.public_scheme)))


def require_same_origin() -> None:
    """Refuse cross-site form posts (another shop on the platform is *same-site*: refused too)."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        raise CartError(CartErrorCode.INVALID_CSRF, "this form must be sent from the shop's own pages", kind=ErrorKind.FORBIDDEN)
    origin = request.headers.get("Origin")
    if origin is not None and origin != "null":
        host = origin.partition("://")[2]
        if host.lower() != (request.headers.get("Host") or "").lower():
            raise CartError(CartErrorCode.INVALID_CSRF, "this form must be sent from the shop's own pages", kind=ErrorKind.FORBIDDEN)
    elif origin == "null":
        raise CartError(CartErrorCode.INVALID_CSRF, "this form must be sent from the shop's own pages", kind=ErrorKind.FORBIDDEN)


def private(response: Response) -> Response:
    response.headers["Cache-Control"] = NO_STORE
    return response


def redirect_to_cart(site: TenantSite, cart_id: str, *, set_cookie: bool) -> Response:
    response = redirect_response("/cart", 303)
    if set_cookie:
        scheme = current_services().settings.public_scheme
        response.set_cookie(
            cart_cookie_name(scheme),
            sign_cart_cookie(keyring(), site.tenant.id, cart_id),
            max_age=COOKIE_MAX_AGE,
            path="/",
            httponly=True,
            samesite="Lax",
            secure=scheme == "https",
        )
    return private(response)


async def handle_cart_errors(handler):
    try:
        return await handler()
    except Halt as halt:
        return halt.response
    except (CartError, CheckoutError) as error:
        site = await current_site()
        status = status_for(error, page=True)
        shop = shop_view(site)
        return await themed_error(site, status, shop.gettext(N_("We could not update your cart")), error.message[0].upper() + error.message[1:] + ".")


@blueprint.get("/cart")
async def show_cart():
    async def handle():
        site = await current_site()
        cart_id = cookie_cart_id(site)
        services = current_services()
        cart = await load_cart(services, site.tenant.id, cart_id)
        async with services.db.connect() as conn:
            found = await select_cart_variants(conn, site.tenant.id, [variant_id for variant_id, _ in cart.lines])
        view = cart_view(site, cart, found, cart_id)
        if cart_id is not None and (cart.notice or cart.problems or len(found) != len(cart.lines)):
            # Flash messages are shown once; lines whose product is gone are dropped.
            kept = tuple((vid, qty) for vid, qty in cart.lines if vid in found)
            await save_cart(services, site.tenant.id, cart_id, Cart(lines=kept))
        shop = shop_view(site)
        page = views.PageMeta(
            title=f"{shop.gettext(N_('Your cart'))} – {site.tenant.name}",
            description=shop.text(N_("Your cart at %(shop)s."), shop=site.tenant.name),
            robots="noindex",
        )
        return private(Response(await render(site, "cart.html", page, cart=view), content_type=HTML))

    return await handle_cart_errors(handle)


def cart_view(site: TenantSite, cart: Cart, found: dict, cart_id: str | None) -> views.CartView:
    shop = shop_view(site)
    lines = []
    subtotal = 0
    problems = list(cart.problems)
    for variant_id, quantity in cart.lines:
        item = found.get(variant_id)
        if item is None:
            problems.append(shop.gettext(N_("An item in your cart is no longer sold and was removed.")))
            continue
        variant = item.variant
        subtotal += variant.price * quantity
        lines.append(
            views.CartLineView(
                variant_id=variant_id,
                product_title=item.product_title,
                variant_title="" if variant.title == "Default Title" or len(item.option_names) == 0 else variant.title,
                url=views.product_url(item.product_handle),
                image=views.build_image(item.image, item.product_title),
                quantity=quantity,
                unit_price=shop.money(variant.price),
                line_total=shop.money(variant.price * quantity),
                is_available=variant.is_available,
            )
        )
    return views.CartView(
        lines=tuple(lines),
        item_count=sum(line.quantity for line in lines),
        subtotal=shop.money(subtotal),
        csrf_token=csrf_token(keyring(), site.tenant.id, cart_id) if cart_id else "",
        notice=cart.notice,
        problems=tuple(problems),
    )


@blueprint.post("/cart/add")
async def add():
    async def handle():
        site = await current_site()
        require_same_origin()
        await limit_cart_write(site.tenant.id)
        form = await request.form
        variant_id = parse_variant_id(form.get("variant_id"))
        quantity = parse_quantity(form.get("quantity"), minimum=1)
        services = current_services()
        async with services.db.connect() as conn:
            item = (await select_cart_variants(conn, site.tenant.id, [variant_id])).get(variant_id)
        if item is None:
            raise CartError(CartErrorCode.UNKNOWN_VARIANT, "that product option is not sold in this shop", field="variant_id", kind=ErrorKind.INVALID)
        variant = item.variant
        available = None if variant.inventory_policy == "continue" else variant.inventory_quantity
        cart_id = cookie_cart_id(site)
        if cart_id is not None and await is_completed(services, site.tenant.id, cart_id):
            cart_id = None  # ordered already: this browser starts a new cart
        is_new = cart_id is None
        cart_id = cart_id or new_cart_id()
        cart = await load_cart(services, site.tenant.id, None if is_new else cart_id)
        updated = add_to_cart(cart, variant_id, quantity, available=available)
        added = updated.quantities[variant_id] - cart.quantities.get(variant_id, 0)
        # Notices are stored in the shop's language: a tenant's locale is one for all its hosts.
        shop = shop_view(site)
        if added == quantity:
            notice = shop.text(N_("Added %(product)s to your cart."), product=item.product_title)
        else:
            notice = shop.text(
                N_("Only %(count)s of %(product)s available; your cart has them all."),
                count=updated.quantities[variant_id],
                product=item.product_title,
            )
        await save_cart(services, site.tenant.id, cart_id, updated.with_messages(notice=notice))
        if added > 0:
            # The server knows an add-to-cart better than the beacon does (no ad blocker, exact value).
            # The event id names this cart line's new quantity, so a retried POST counts once.
            await emit_add_to_cart(
                services, site.tenant.id,
                product_id=variant.product_id, variant_id=variant_id, quantity=added,
                value=variant.price * added, currency=site.tenant.currency,
                event_id=f"cart:{cart_id}:{variant_id}:{updated.quantities[variant_id]}",
                shopper=shopper_from_request(), store_host=current_host(),
            )
        return redirect_to_cart(site, cart_id, set_cookie=is_new)

    return await handle_cart_errors(handle)


async def _change(*, remove: bool):
    site = await current_site()
    require_same_origin()
    await limit_cart_write(site.tenant.id)
    form = await request.form
    cart_id = cookie_cart_id(site)
    if cart_id is None or not verify_csrf_token(keyring(), site.tenant.id, cart_id, form.get("csrf_token")):
        raise CartError(CartErrorCode.INVALID_CSRF, "your cart session has expired; reload the cart page and try again", kind=ErrorKind.FORBIDDEN)
    variant_id = parse_variant_id(form.get("variant_id"))
    quantity = 0 if remove else parse_quantity(form.get("quantity"), minimum=0)
    services = current_services()
    cart = await load_cart(services, site.tenant.id, cart_id)
    if variant_id not in cart.quantities:
        raise CartError(CartErrorCode.UNKNOWN_VARIANT, "that item is not in your cart", field="variant_id")
    if quantity > 0:
        async with services.db.connect() as conn:
            item = (await select_cart_variants(conn, site.tenant.id, [variant_id])).get(variant_id)
        if item is not None and item.variant.inventory_policy != "continue":
            quantity = min(quantity, max(item.variant.inventory_quantity, 0)) or 0
    shop = shop_view(site)
    notice = shop.gettext(N_("Removed the item from your cart.") if quantity == 0 else N_("Updated your cart."))
    await save_cart(services, site.tenant.id, cart_id, cart.with_quantity(variant_id, quantity).with_messages(notice=notice))
    return redirect_to_cart(site, cart_id, set_cookie=False)


@blueprint.post("/cart/update")
async def update():
    return await handle_cart_errors(lambda: _change(remove=False))


@blueprint.post("/cart/remove")
async def remove():
    return await handle_cart_errors(lambda: _change(remove=True))
