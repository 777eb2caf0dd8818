// Variant picker: one radio group per option.
// The page works without this script: the option form asks the server for the chosen variant's page.
// With it, the price, compare-at price, availability, the cart form's variant and the URL follow the
// choice in place, and each value is marked against the others (sold out, or no such variant).
(function () {
  var dataElement = document.getElementById("variant-data");
  if (!dataElement) return;
  var variants = JSON.parse(dataElement.textContent);
  var picker = document.querySelector("[data-variant-picker]");
  var availability = document.querySelector("[data-availability]");

  function findVariant(values) {
    for (var id in variants) {
      var options = variants[id].options;
      if (options.length === values.length && options.every(function (v, i) { return v === values[i]; })) return id;
    }
    return null;
  }

  function show(id) {
    var variant = id && variants[id];
    var state = variant ? (variant.available ? "in-stock" : "sold-out") : "unavailable";
    if (variant) {
      document.querySelector("[data-price]").textContent = variant.price;
      document.querySelector("[data-compare-at]").hidden = !variant.compare_at_price;
      document.querySelector("[data-compare-at-amount]").textContent = variant.compare_at_price || "";
      var hidden = document.querySelector("[data-variant-id]");
      if (hidden) hidden.value = id;
      history.replaceState(null, "", location.pathname + "?variant=" + encodeURIComponent(id));
    }
    availability.textContent = availability.getAttribute("data-" + state);
    availability.classList.toggle("out-of-stock", state !== "in-stock");
    document.querySelector("[data-add-button]").disabled = state !== "in-stock";
  }

  if (!picker) return;
  var groups = Array.prototype.map.call(picker.querySelectorAll("fieldset"), function (fieldset) {
    return Array.prototype.slice.call(fieldset.querySelectorAll("input[type=radio]"));
  });
  var labels = {
    "sold-out": " · " + availability.getAttribute("data-sold-out"),
    unavailable: " · " + availability.getAttribute("data-unavailable"),
    available: ""
  };

  function chosen() {
    return groups.map(function (inputs) {
      var checked = inputs.filter(function (input) { return input.checked; })[0];
      return checked ? checked.value : null;
    });
  }

  function mark(values) {
    groups.forEach(function (inputs, index) {
      inputs.forEach(function (input) {
        var wanted = values.slice();
        wanted[index] = input.value;
        var id = findVariant(wanted);
        var state = id ? (variants[id].available ? "available" : "sold-out") : "unavailable";
        input.setAttribute("data-state", state);
        var label = picker.querySelector('label[for="' + input.id + '"] [data-option-state]');
        if (label) label.textContent = labels[state];
      });
    });
  }

  picker.querySelector("[data-picker-submit]").hidden = true;
  picker.addEventListener("change", function () {
    var values = chosen();
    show(findVariant(values));
    mark(values);
  });
})();
