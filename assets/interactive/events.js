// Engagement events of a recipient's page, sent to the API in batches (POST /events).
// No cookies, no storage, no third party: the page's token (in its own URL) names the recipient;
// each event has a random id so a retried batch is counted once. Pages opened from a file or
// outside the token route send nothing. Other scripts send through window.tailorEvents.
(function () {
  "use strict";
  var match = location.pathname.match(/^(.*)\/r\/([A-Za-z0-9_-]{16,64})\//);
  var queue = [];
  var sent = {};
  var timer = null;
  var retryMs = 2000;
  var LEAVING = { cta_click: true, chat_open: true, pdf_download: true };

  function randomId() {
    var bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function viewId() {  // one id per page load, shared by the page's scripts
    var root = document.documentElement;
    if (!root.getAttribute("data-tailor-view")) root.setAttribute("data-tailor-view", randomId());
    return root.getAttribute("data-tailor-view");
  }

  var api = {
    enabled: !!match && location.protocol !== "file:",
    view: viewId(),
    token: match ? match[2] : null,
    base: match ? match[1] : "",
    positionUrl: match ? match[1] + "/r/" + match[2] + "/position" : null,
    // Queue one event; `fields` may hold scene, position, target and value.
    send: function (kind, fields) {
      if (!api.enabled) return;
      fields = fields || {};
      queue.push({
        id: randomId(), kind: kind, view: api.view, at: Date.now(),
        scene: fields.scene || null,
        position: typeof fields.position === "number" && isFinite(fields.position) ? Math.round(fields.position * 1000) / 1000 : null,
        target: fields.target || null,
        value: typeof fields.value === "number" ? fields.value : null
      });
      // a click may leave the page: send it now (fetch keepalive outlives the page)
      if (queue.length >= 20 || LEAVING[kind]) flush(false);
      else if (!timer) timer = setTimeout(function () { flush(false); }, 4000);
    },
    // Queue an event once per page view for `key` (a CTA shown, a form seen).
    once: function (key, kind, fields) {
      if (sent[key]) return;
      sent[key] = true;
      api.send(kind, fields);
    },
    flush: function () { flush(true); },
    // The business's chat, for a call to action `ctaId`: its page opens by the link itself;
    // a widget script is loaded on the first open and told to open with the template's context.
    openChat: function (ctaId) {
      api.send("chat_open", { target: ctaId });
      var chat = chatConfig();
      if (!chat || !chat.script) return;
      var opened = function () {
        document.dispatchEvent(new CustomEvent("tailor:chat-open", { detail: { context: chat.context } }));
      };
      if (chatLoaded) { opened(); return; }
      var script = document.createElement("script");
      script.src = chat.script;
      script.addEventListener("load", function () { chatLoaded = true; opened(); });
      document.head.appendChild(script);
    }
  };
  var chatLoaded = false;

  function chatConfig() {  // on the player's config, or on the page's chat button
    var block = document.querySelector("[data-tp=config]");
    if (block) return JSON.parse(block.textContent).chat;
    var button = document.querySelector("[data-tailor-chat][data-chat]");
    return button ? JSON.parse(button.getAttribute("data-chat")) : null;
  }

  function flush(leaving) {
    if (timer) { clearTimeout(timer); timer = null; }
    while (queue.length) {
      var batch = queue.splice(0, 50);
      var body = JSON.stringify({ token: api.token, events: batch });
      var blob = new Blob([body], { type: "application/json" });
      if (leaving && navigator.sendBeacon && navigator.sendBeacon(api.base + "/events", blob)) continue;
      post(batch, body);
    }
  }

  function post(batch, body) {
    fetch(api.base + "/events", {
      method: "POST", body: body, keepalive: true, credentials: "omit", cache: "no-store",
      headers: { "Content-Type": "application/json" }
    }).then(function (response) {
      if (response.status === 429 || response.status >= 500) retry(batch);
    }, function () { retry(batch); });
  }

  function retry(batch) {  // the same ids again: the server counts each event once
    setTimeout(function () {
      queue = batch.concat(queue);
      flush(false);
    }, retryMs);
    retryMs = Math.min(retryMs * 2, 60000);
  }

  function trackPage() {
    api.send("page_view");
    var ctas = document.querySelectorAll("[data-tailor-cta]");
    Array.prototype.forEach.call(ctas, function (link) {
      var id = link.getAttribute("data-tailor-cta");
      var chat = link.hasAttribute("data-tailor-chat");
      if (chat) link.hidden = false;  // a widget button works with this script only
      link.addEventListener("click", function (event) {
        api.send("cta_click", { target: id });
        if (!chat) return;
        if (link.tagName === "BUTTON") event.preventDefault();
        api.openChat(id);
      });
    });
    if ("IntersectionObserver" in window) {
      var seen = new IntersectionObserver(function (entries) {
        entries.forEach(function (entry) {
          if (!entry.isIntersecting) return;
          var id = entry.target.getAttribute("data-tailor-cta");
          api.once("cta:" + id, "cta_shown", { target: id });
          seen.unobserve(entry.target);
        });
      }, { threshold: 0.5 });
      Array.prototype.forEach.call(ctas, function (link) { seen.observe(link); });
    }
    Array.prototype.forEach.call(document.querySelectorAll("[data-tailor-pdf]"), function (link) {
      link.addEventListener("click", function () { api.send("pdf_download"); });
    });
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "hidden") flush(true);
    });
    window.addEventListener("pagehide", function () { flush(true); });
  }

  window.tailorEvents = api;
  if (!api.enabled) return;
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", trackPage);
  else trackPage();
})();
