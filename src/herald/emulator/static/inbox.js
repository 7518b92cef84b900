/* The Herald emulator's inbox: live updates over Server-Sent Events, the composer and the chaos
   form. Plain JavaScript, no build step.

   The DOM is changed only with fragments the server rendered (and escaped), parsed by
   DOMParser, or with textContent: nothing that arrives in an event is ever parsed as HTML. */
"use strict";

(function () {
  const EVENTS = "/events";
  const PAUSE_MS = 120;

  function report(error) {
    console.warn("Herald inbox:", error);
  }

  /* A server-rendered fragment's first element, adopted into this document. */
  async function fragment(url) {
    const response = await fetch(url, { headers: { Accept: "text/html" }, cache: "no-store" });
    if (!response.ok) {
      throw new Error(url + " answered " + response.status);
    }
    const parsed = new DOMParser().parseFromString(await response.text(), "text/html");
    const element = parsed.body.firstElementChild;
    return element ? document.adoptNode(element) : null;
  }

  /* Replace the element `id` with a fresh copy from `url`; append it to `parentId` when the
     page does not hold it (yet). */
  async function refresh(id, url, parentId) {
    const element = await fragment(url);
    const current = document.getElementById(id);
    if (element && current) {
      current.replaceWith(element);
    } else if (element && parentId) {
      document.getElementById(parentId).appendChild(element);
    }
    return element;
  }

  /* A task that never runs twice at once. Asked again while it runs, it runs once more
     afterwards, so that the last run always sees the latest state however many events came. */
  function coalesced(task) {
    let running = false;
    let again = false;
    return function run() {
      if (running) {
        again = true;
        return;
      }
      running = true;
      again = false;
      Promise.resolve()
        .then(task)
        .catch(report)
        .finally(function () {
          setTimeout(function () {
            running = false;
            if (again) {
              run();
            }
          }, PAUSE_MS);
        });
    };
  }

  function keyed(taskFor) {
    const runs = new Map();
    return function (key) {
      if (!runs.has(key)) {
        runs.set(key, coalesced(function () { return taskFor(key); }));
      }
      runs.get(key)();
    };
  }

  /* Follow the event stream; `onOpen` runs on every (re)connection, when events may have been
     missed, so a page refreshes itself there. */
  function listen(types, onEvent, onOpen) {
    const live = document.getElementById("live");
    const source = new EventSource(EVENTS + "?types=" + types.join(","));
    function show(on) {
      if (live) {
        live.dataset.state = on ? "on" : "off";
        live.textContent = on ? "Live" : "Reconnecting…";
      }
    }
    source.addEventListener("open", function () {
      show(true);
      onOpen();
    });
    source.addEventListener("error", function () { show(false); });
    types.forEach(function (type) {
      source.addEventListener(type, function (event) {
        onEvent(type, JSON.parse(event.data));
      });
    });
    window.addEventListener("pagehide", function () { source.close(); });
  }

  function bare(address) {
    return (address || "").replace(/^whatsapp:/, "");
  }

  function phoneOf(message) {
    return bare(message.direction === "inbound" ? message.from : message.to);
  }

  function businessOf(message) {
    return message.direction === "inbound" ? message.to : message.from;
  }

  /* -- the phone list ------------------------------------------------------------------------ */

  function phonesPage() {
    const update = coalesced(function () { return refresh("phones", "/partials/phones"); });
    listen(["message.created", "message.status", "state.reset"], update, update);
  }

  /* -- one conversation ---------------------------------------------------------------------- */

  function conversationPage() {
    const number = document.getElementById("conversation").dataset.number;
    const base = "/partials/phones/" + encodeURIComponent(number);
    const log = document.querySelector(".log");

    function nearEnd() {
      return log.scrollHeight - log.scrollTop - log.clientHeight < 80;
    }
    function scrollToEnd() {
      log.scrollTop = log.scrollHeight;
    }
    const updateAll = coalesced(function () {
      const stick = nearEnd();
      return refresh("conversation", base).then(function () {
        if (stick) {
          scrollToEnd();
        }
      });
    });
    const updateBubble = keyed(function (sid) {
      return refresh("msg-" + sid, "/partials/messages/" + encodeURIComponent(sid), "conversation");
    });
    const updateTargets = coalesced(async function () {
      const chosen = document.getElementById("reply-to").value;
      const select = await refresh("reply-to", base + "/reply-to");
      if (select && Array.from(select.options).some(function (o) { return o.value === chosen; })) {
        select.value = chosen;
      }
      enableComposer();
    });

    function hasTarget(address) {
      return Array.from(document.getElementById("reply-to").options).some(function (option) {
        return option.value === address;
      });
    }

    function onEvent(type, data) {
      if (type === "state.reset") {
        updateAll();
        updateTargets();
        return;
      }
      const message = data.message;
      if (!message || phoneOf(message) !== number) {
        return;
      }
      const id = "msg-" + message.sid;
      if (!document.getElementById(id)) {
        // Hold the message's place at once: fragments may arrive out of order.
        const stick = nearEnd();
        const placeholder = document.createElement("li");
        placeholder.id = id;
        placeholder.className =
          "bubble placeholder " + (message.direction === "inbound" ? "mine" : "theirs");
        placeholder.setAttribute("aria-busy", "true");
        document.getElementById("conversation").appendChild(placeholder);
        if (stick) {
          scrollToEnd();
        }
      }
      updateBubble(message.sid);
      const business = businessOf(message);
      if (type === "message.created" && /^(whatsapp:)?\+/.test(business || "") &&
          !hasTarget(business)) {
        updateTargets();
      }
    }

    scrollToEnd();
    listen(["message.created", "message.status", "state.reset"], onEvent, function () {
      updateAll();
      updateTargets();
    });
    composer();
  }

  function enableComposer() {
    const select = document.getElementById("reply-to");
    const none = select.options.length === 0;
    select.disabled = none;
    document.getElementById("reply-body").disabled = none;
    document.querySelector("#composer button[type=submit]").disabled = none;
  }

  function composer() {
    const form = document.getElementById("composer");
    const body = document.getElementById("reply-body");
    const error = document.getElementById("composer-error");
    const button = form.querySelector("button[type=submit]");

    body.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      error.textContent = "";
      button.disabled = true;
      try {
        const response = await fetch(form.action, {
          method: "POST",
          headers: { Accept: "application/json" },
          body: new URLSearchParams(new FormData(form)),
        });
        if (response.ok) {
          body.value = "";
        } else {
          const answer = await response.json().catch(function () { return {}; });
          error.textContent = answer.message || "The emulator answered " + response.status + ".";
        }
      } catch (failure) {
        error.textContent = "The emulator did not answer: " + failure.message;
      } finally {
        button.disabled = false;
        body.focus();
      }
    });
  }

  /* -- webhook deliveries -------------------------------------------------------------------- */

  function webhooksPage() {
    const update = coalesced(async function () {
      // Keep open what the reader opened.
      const open = Array.from(document.querySelectorAll("#webhooks details[open]"), function (d) {
        return d.dataset.key;
      });
      await refresh("webhooks", "/partials/webhooks");
      open.forEach(function (key) {
        const details = document.querySelector('#webhooks details[data-key="' + CSS.escape(key) + '"]');
        if (details) {
          details.open = true;
        }
      });
    });
    listen(["webhook.delivered", "state.reset"], update, update);
  }

  /* -- chaos ---------------------------------------------------------------------------------- */

  function chaosPage() {
    const form = document.getElementById("chaos-form");
    const target = document.getElementById("chaos-target");
    const status = document.getElementById("chaos-status");
    const error = document.getElementById("chaos-error");
    const follow = document.getElementById("chaos-follow");
    const inputs = form.querySelectorAll("input[type=number]");
    const updateState = coalesced(function () { return refresh("chaos-state", "/partials/chaos"); });

    function endpoint() {
      return form.dataset.endpoint + (target.value ? "/" + encodeURIComponent(target.value) : "");
    }
    function settings() {
      const chosen = {};
      inputs.forEach(function (input) {
        if (input.value !== "") {
          chosen[input.name] = Number(input.value);
        } else if (input.name === "seed") {
          chosen.seed = null;
        }
      });
      return chosen;
    }
    function fill(answer) {
      // /_emulator/chaos answers {default, accounts}; an account's URL answers its settings.
      const shown = target.value ? answer : answer.default;
      inputs.forEach(function (input) {
        const value = shown[input.name];
        input.value = value === null || value === undefined ? "" : String(value);
      });
      follow.hidden = !(target.value && answer.own);
    }
    async function call(method, body, done) {
      status.textContent = "";
      error.textContent = "";
      try {
        const options = { method: method, headers: { Accept: "application/json" } };
        if (body !== undefined) {
          options.headers["Content-Type"] = "application/json";
          options.body = JSON.stringify(body);
        }
        const response = await fetch(endpoint(), options);
        const answer = response.status === 204 ? null : await response.json();
        if (!response.ok) {
          throw new Error(answer && answer.message ? answer.message : "The emulator answered " + response.status + ".");
        }
        if (answer) {
          fill(answer);
        }
        if (done) {
          status.textContent = done;
        }
        updateState();
      } catch (failure) {
        error.textContent = failure.message;
      }
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      call("PUT", settings(), "Saved: in force from the next request.");
    });
    document.getElementById("chaos-off").addEventListener("click", function () {
      call("PUT", {}, "Everything is off.");
    });
    follow.addEventListener("click", async function () {
      await call("DELETE", undefined, "");
      await call("GET", undefined, "This account follows the default again.");
    });
    target.addEventListener("change", function () { call("GET"); });
  }

  const page = document.body.dataset.page;
  if (page === "phones" && document.getElementById("conversation")) {
    conversationPage();
  } else if (page === "phones" && document.getElementById("phones")) {
    phonesPage();
  } else if (page === "webhooks") {
    webhooksPage();
  } else if (page === "chaos") {
    chaosPage();
  }
})();
