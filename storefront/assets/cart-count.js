// Cart count in the header. The page itself is the same for every shopper, so the edge and
// Cloudflare can cache it; this shopper's count comes from /cart/count.json, which is private
// and never cached (issue 15). Without the script the header just says "Cart".
(function () {
  var badge = document.querySelector("[data-cart-count]");
  if (!badge || !window.fetch) return;
  fetch("/cart/count.json", { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (response) { return response.ok ? response.json() : null; })
    .then(function (data) {
      if (!data || !(data.count > 0)) return;
      badge.textContent = "(" + data.count + ")";
      badge.hidden = false;
    })
    .catch(function () {});
})();
