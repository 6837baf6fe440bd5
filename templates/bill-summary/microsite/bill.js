// Progressive enhancement: line items are native <details>; this adds "expand all / collapse all".
(function () {
  "use strict";
  function init() {
    var button = document.querySelector("[data-expand-all]");
    if (!button) return;
    var items = Array.prototype.slice.call(document.querySelectorAll("details.item"));
    function sync() {
      var allOpen = items.length > 0 && items.every(function (d) { return d.open; });
      button.setAttribute("aria-pressed", allOpen ? "true" : "false");
    }
    button.addEventListener("click", function () {
      var open = button.getAttribute("aria-pressed") !== "true";
      items.forEach(function (d) { d.open = open; });
      sync();
    });
    items.forEach(function (d) { d.addEventListener("toggle", sync); });
    sync();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
