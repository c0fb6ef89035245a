// The Telegram Mini App's sign-in: Telegram opens this page with its signed initData in the address's fragment
// (#tgWebAppData=...). Post it to the console, which checks the signature, and take it out of the address.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var initData = new URLSearchParams(window.location.hash.slice(1)).get("tgWebAppData");
  if (!initData) {
    document.getElementById("mini-app-outside").hidden = false;
    return;
  }
  window.history.replaceState(null, "", window.location.pathname);
  var form = document.getElementById("mini-app-sign-in");
  form.elements.init_data.value = initData;
  form.submit();
});
