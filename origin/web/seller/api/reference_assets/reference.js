// The API reference page (origin/web/seller/api/reference.py): Swagger UI over the document
// named by the page, with no call to anything but this origin (no validator badge).
"use strict";
(function () {
  var root = document.getElementById("reference");
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-document"),
    domNode: root,
    deepLinking: true,
    validatorUrl: null,
    tryItOutEnabled: false,
    persistAuthorization: false,
    defaultModelsExpandDepth: 0,
    docExpansion: "list",
  });
})();
