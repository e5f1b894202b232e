// Starts Swagger UI (vendor/swagger-ui/) on the description named by #swagger-ui's data-spec-url.
"use strict";
(function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-spec-url"),
    domNode: root,
    deepLinking: true,
    // No call to the public validator.swagger.io: the page must work on a closed network.
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
  });
})();
