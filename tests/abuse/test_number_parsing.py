"""Numbers from outside parsed as ASCII digits with bounds everywhere, edge and tls included (issue 13, item 10).

``str.isdigit()`` is true for ``'²'`` (which ``int()`` and ``float()`` then refuse
with an exception) and for ``'٣'`` (which they quietly read as 3); ``int()`` also
takes ``'+5'``, ``'1_000'`` and ``'-1'``. Each place below used one of them on
text someone else sends: Cloudflare's ``Retry-After``, a resolver's port in
settings, a Shopify id in a webhook body, a webhook's ``Content-Length``.
"""

from __future__ import annotations

import pytest

from edge.cloudflare import RETRY_AFTER_MAX_SECONDS, retry_after_seconds
from origin.numbers import parse_bounded_int as origin_parser
from origin.shopify.models import gid, gid_kind
from origin.web.asgi.webhook_intake import _declared_length
from tls.numbers import parse_bounded_int
from tls.verification import parse_resolver


def test_the_origin_and_the_lower_packages_share_one_parser() -> None:
    assert origin_parser is parse_bounded_int


@pytest.mark.parametrize("value", ["²", "٣", "+5", "1_0", "-1", "5.0", "", None])
def test_cloudflare_retry_after_that_is_not_ascii_digits_falls_back_to_the_default(value) -> None:
    assert retry_after_seconds(value, 7.0) == 7.0


def test_cloudflare_retry_after_in_digits_is_read_and_bounded() -> None:
    assert retry_after_seconds(" 30 ", 7.0) == 30.0
    assert retry_after_seconds("9" * 400, 7.0) == RETRY_AFTER_MAX_SECONDS  # no float of 400 digits, no hour-long stall


@pytest.mark.parametrize("port", ["²", "٣", "+53", "5_3", "0", "65536"])
def test_a_resolver_port_that_is_not_ascii_digits_in_range_is_refused(port) -> None:
    with pytest.raises(ValueError, match="bad port"):
        parse_resolver(f"127.0.0.1:{port}")


def test_a_resolver_port_in_ascii_digits_is_read() -> None:
    assert parse_resolver("127.0.0.1:5353").port == 5353


@pytest.mark.parametrize("numeric_id", ["٣", "²", "1_0", "+1", True, 1.0, -1, "1" * 31])
def test_a_shopify_id_that_is_not_ascii_digits_makes_no_gid(numeric_id) -> None:
    with pytest.raises(ValueError):
        gid("Product", numeric_id)


def test_gids_are_built_and_read_in_ascii_digits_only() -> None:
    assert gid("Product", 632910392) == gid("Product", "632910392") == "gid://shopify/Product/632910392"
    assert gid_kind("gid://shopify/Product/632910392") == "Product"
    assert gid_kind("gid://shopify/Product/٣") is None


@pytest.mark.parametrize(("header", "declared"), [("120", 120), (" 120 ", 120), ("٣", 0), ("+5", 0), ("1_0", 0), ("-1", 0), ("", 0)])
def test_the_webhook_intake_reads_content_length_as_ascii_digits(header, declared) -> None:
    # Not a number: 0, and the body is then read and cut off at the limit as it streams in.
    assert _declared_length({"content-length": header} if header else {}) == declared


def test_the_dev_mail_viewer_reads_a_message_number_in_ascii_digits_only(tmp_path) -> None:
    from ops.mail_server import MailDirectory

    mailbox = MailDirectory(tmp_path)
    assert mailbox.find("²") is None and mailbox.find("٣") is None  # int('²') raised before
    assert mailbox.find("1") is None  # no messages yet: no number is in range
