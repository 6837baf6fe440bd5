// Starts Swagger UI on /docs (a file, not an inline script, so the page's CSP needs no
// 'unsafe-inline'). The schema URL comes from the page; nothing is loaded from elsewhere.
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-openapi-url"),
    dom_id: "#swagger-ui",
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    deepLinking: true,
    validatorUrl: null,
    showExtensions: true,
    persistAuthorization: false,
  });
})();
