/* Tailor page forms, inline: every <form data-tailor-form> (markup: renderer/outputs/forms_markup.py)
 * is sent with fetch as JSON instead of a page load. The server's answer decides: 201 shows the
 * thanks paragraph and moves focus to it; 422 writes each field's message (the server's, in the
 * recipient's language) beside it, marks the control aria-invalid and focuses the first wrong
 * one; anything else falls back to the plain form post, which works without this script.
 * It also fills the hidden _view input with the page-load id (shared with the page's other
 * scripts through <html data-tailor-view>) and sends one form_view event per form and view
 * when the form first comes into sight. Vanilla, no dependencies, nothing inline (CSP-safe). */
(function () {
  "use strict";

  var ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

  function randomId() {
    var bytes = new Uint8Array(20);
    crypto.getRandomValues(bytes);
    var id = "";
    for (var i = 0; i < bytes.length; i++) id += ID_CHARS[bytes[i] % ID_CHARS.length];
    return id;
  }

  function viewId() {
    var root = document.documentElement;
    if (!root.getAttribute("data-tailor-view")) root.setAttribute("data-tailor-view", randomId());
    return root.getAttribute("data-tailor-view");
  }

  // The page token and the API's base path, when the page is served through /r/{token}/...
  function pageToken() {
    var match = /^(.*)\/r\/([A-Za-z0-9_-]{16,64})\//.exec(location.pathname);
    return match ? { base: match[1], token: match[2] } : null;
  }

  function sendEvent(kind, target) {
    if (window.tailorEvents && window.tailorEvents.enabled) {  // the page's batched events
      window.tailorEvents.send(kind, { target: target });
      return;
    }
    var page = pageToken();
    if (!page || !navigator.sendBeacon) return;
    var event = {
      id: randomId(), kind: kind, view: viewId(), at: Date.now(),
      scene: null, position: null, target: target, value: null
    };
    var body = JSON.stringify({ token: page.token, events: [event] });
    navigator.sendBeacon(page.base + "/events", new Blob([body], { type: "application/json" }));
  }

  function watchView(form, formId) {
    var sent = false;
    function send() {
      if (!sent) { sent = true; sendEvent("form_view", formId); }
    }
    if (!("IntersectionObserver" in window)) { send(); return; }
    var observer = new IntersectionObserver(function (entries) {
      for (var i = 0; i < entries.length; i++) {
        if (entries[i].isIntersecting) { send(); observer.disconnect(); return; }
      }
    });
    observer.observe(form);
  }

  function fields(form) {
    return Array.prototype.slice.call(form.querySelectorAll("[data-tailor-field]"));
  }

  function controlOf(form, name) {
    return form.querySelector('[name="' + name + '"]');
  }

  function values(form) {
    var body = {};
    fields(form).forEach(function (field) {
      var name = field.getAttribute("data-tailor-field");
      var control = controlOf(form, name);
      if (!control) return;
      body[name] = control.type === "checkbox" ? control.checked : control.value;
    });
    var view = form.querySelector('input[name="_view"]');
    if (view) body._view = view.value;
    return body;
  }

  function clearField(form, name) {
    var control = controlOf(form, name);
    var error = form.querySelector('[data-tailor-error-for="' + name + '"]');
    if (control) control.removeAttribute("aria-invalid");
    if (error) { error.textContent = ""; error.hidden = true; }
  }

  function showErrors(form, errors) {
    var summary = form.querySelector("[data-tailor-error-summary]");
    var first = null;
    fields(form).forEach(function (field) {
      var name = field.getAttribute("data-tailor-field");
      var problem = errors[name];
      clearField(form, name);
      if (!problem) return;
      var control = controlOf(form, name);
      var error = form.querySelector('[data-tailor-error-for="' + name + '"]');
      var message = problem.message || form.getAttribute("data-msg-" + problem.code) || "";
      if (error) { error.textContent = message; error.hidden = false; }
      if (control) { control.setAttribute("aria-invalid", "true"); first = first || control; }
    });
    if (summary) {
      summary.textContent = form.getAttribute("data-msg-summary") || "";
      summary.hidden = false;
    }
    if (first) first.focus();
  }

  function showThanks(form, formId) {
    fields(form).forEach(function (field) { clearField(form, field.getAttribute("data-tailor-field")); });
    var summary = form.querySelector("[data-tailor-error-summary]");
    if (summary) { summary.textContent = ""; summary.hidden = true; }
    var thanks = document.getElementById("form-" + formId + "-thanks");
    form.hidden = true;
    if (thanks) { thanks.classList.add("is-shown"); thanks.focus(); }
  }

  function submit(form, formId, button) {
    if (button) { button.disabled = true; button.setAttribute("aria-busy", "true"); }
    function done() {
      if (button) { button.disabled = false; button.removeAttribute("aria-busy"); }
    }
    // Refused (429, 413, 403) or unreachable: say so and let the person try again, rather than
    // post the form plainly (a post that may have been stored already would be stored twice).
    function fallback() {
      done();
      var summary = form.querySelector("[data-tailor-error-summary]");
      if (!summary) return;
      summary.textContent = form.getAttribute("data-msg-retry") || "Your answers could not be sent. Please try again.";
      summary.hidden = false;
    }
    fetch(form.action, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(values(form)),
      credentials: "omit",
      referrerPolicy: "strict-origin",  // a real Origin header; the page's path never leaves it
      cache: "no-store"
    }).then(function (response) {
      if (response.status === 201) { done(); showThanks(form, formId); return null; }
      if (response.status !== 422) { fallback(); return null; }
      return response.json().then(function (body) { done(); showErrors(form, body.errors || {}); });
    }).catch(fallback);
  }

  function setUp(form) {
    var formId = form.getAttribute("data-tailor-form");
    var view = form.querySelector('input[name="_view"]');
    if (view) view.value = viewId();
    watchView(form, formId);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      submit(form, formId, form.querySelector('[type="submit"]'));
    });
    form.addEventListener("change", function (event) {
      var name = event.target && event.target.name;
      if (name && event.target.getAttribute("aria-invalid") === "true") clearField(form, name);
    });
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("form[data-tailor-form]"), setUp);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
