/* Zelly first-party analytics beacon (issue 7). No cookies, no storage, no third party.
 *
 * Sends a page_view on load, plus the events the page declares in its script
 * tag's data-events attribute (product_view on product pages, purchase on the
 * thank-you page), to POST /events on this same host. Themes call
 * zelly.track("add_to_cart", {product_id, variant_id, quantity, value, currency}).
 * Honours Do-Not-Track and Global Privacy Control in the browser too.
 */
(function (window, document, navigator) {
  "use strict";
  var ENDPOINT = "/events";
  var MAX_BATCH = 50;
  var queue = [];
  var timer = null;

  function refused() {
    return navigator.doNotTrack === "1" || window.doNotTrack === "1" || navigator.globalPrivacyControl === true;
  }

  function newId() {
    if (window.crypto && window.crypto.randomUUID) { return window.crypto.randomUUID(); }
    return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2);
  }

  function send(batch) {
    var body = JSON.stringify(batch);
    if (navigator.sendBeacon && navigator.sendBeacon(ENDPOINT, new Blob([body], { type: "application/json" }))) { return; }
    if (window.fetch) {
      window.fetch(ENDPOINT, { method: "POST", body: body, keepalive: true, credentials: "omit",
                               headers: { "Content-Type": "application/json" } });
    }
  }

  function flush() {
    timer = null;
    while (queue.length) { send(queue.splice(0, MAX_BATCH)); }
  }

  function track(name, props, eventId) {
    if (refused()) { return; }
    queue.push({ name: name, url: window.location.href, referrer: document.referrer || "",
                 event_id: eventId || newId(), props: props || {} });
    if (!timer) { timer = window.setTimeout(flush, 250); }
  }

  var declared = [];
  try { declared = JSON.parse((document.currentScript && document.currentScript.getAttribute("data-events")) || "[]"); }
  catch (error) { declared = []; }
  window.zelly = window.zelly || {};
  window.zelly.track = track;
  track("page_view");
  for (var i = 0; i < declared.length; i++) { track(declared[i].name, declared[i].props, declared[i].event_id); }
  document.addEventListener("visibilitychange", function () { if (document.visibilityState === "hidden") { flush(); } });
})(window, document, navigator);
