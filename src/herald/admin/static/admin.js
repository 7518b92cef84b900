// Herald admin: refresh the live parts of a page. Each element with data-refresh names a URL
// that answers the same fragment, rendered and escaped by the server; the script only swaps it
// in. It pauses while the tab is hidden and stops on a sign-out (a redirect to the login page).
"use strict";

(function () {
  const PERIOD_MS = 3000;

  async function refresh(element) {
    const url = element.dataset.refresh;
    let response;
    try {
      response = await fetch(url, { credentials: "same-origin", redirect: "manual" });
    } catch (error) {
      return true;
    }
    if (response.type === "opaqueredirect" || !response.ok) {
      return response.status >= 500;
    }
    const html = await response.text();
    if (html !== element.dataset.last) {
      element.dataset.last = html;
      const template = document.createElement("template");
      template.innerHTML = html;
      element.replaceChildren(template.content);
    }
    return true;
  }

  function start() {
    const live = Array.from(document.querySelectorAll("[data-refresh]"));
    if (live.length === 0) {
      return;
    }
    document.body.dataset.live = "on";
    const timer = window.setInterval(async function () {
      if (document.hidden) {
        return;
      }
      const results = await Promise.all(live.map(refresh));
      if (results.includes(false)) {
        window.clearInterval(timer);
        document.body.dataset.live = "off";
      }
    }, PERIOD_MS);
  }

  document.addEventListener("DOMContentLoaded", start);
})();
