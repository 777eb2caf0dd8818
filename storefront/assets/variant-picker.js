// Variant picker: keeps the price, compare-at price, availability and button in step
// with the selected variant. The page works without it (the select is a plain form field).
(function () {
  var picker = document.querySelector("[data-variant-picker]");
  var dataElement = document.getElementById("variant-data");
  if (!picker || !dataElement) return;
  var variants = JSON.parse(dataElement.textContent);
  picker.addEventListener("change", function () {
    var variant = variants[picker.value];
    if (!variant) return;
    document.querySelector("[data-price]").textContent = variant.price;
    var compare = document.querySelector("[data-compare-at]");
    compare.hidden = !variant.compare_at_price;
    document.querySelector("[data-compare-at-amount]").textContent = variant.compare_at_price || "";
    var availability = document.querySelector("[data-availability]");
    availability.textContent = variant.available ? "In stock" : "Sold out";
    availability.classList.toggle("out-of-stock", !variant.available);
    document.querySelector("[data-add-button]").disabled = !variant.available;
    history.replaceState(null, "", "?variant=" + encodeURIComponent(picker.value));
  });
})();
