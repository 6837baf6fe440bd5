/* Tailor page forms, inline: every <form data-tailor-form> (markup: renderer/outputs/forms_markup.py)
 * is sent with fetch as JSON instead of a page load. The server's answer decides: 201 shows the
 * thanks paragraph and moves focus to it; 422 writes each field's message (the server's, in the
 * recipient's language) beside it, marks the control aria-invalid and focuses the first wrong
 * one; anything else falls back to the plain form post, which works without this script.
 * It also fills the hidden _view input with the page-load id and sends one form_view event per
 * form and view when the form first comes into sight, both through window.tailorEvents
 * (events.js, which the page loads first). Vanilla, no dependencies, nothing inline (CSP-safe). */
(function () {
  "use strict";

  // Events and the page-load id come from the page's events script (assets/interactive/events.js,
  // loaded before this one): one queue, one id, one copy of the token handling.
  var events = window.tailorEvents;

  function viewId() {
    return events ? events.view : "";
  }

  function sendEvent(kind, target) {
    if (events) events.send(kind, { target: target });
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
