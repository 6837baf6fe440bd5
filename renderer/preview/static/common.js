// Shared by the studio's pages: JSON requests, small DOM helpers, the change stream.
"use strict";
window.Tailor = (() => {
  async function post(path, body) {
    const response = await fetch(path, {
      method: "POST",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify(body),
    });
    let data = {};
    try { data = await response.json(); } catch (e) { data = {error: "no JSON answer"}; }
    return {status: response.status, data};
  }
  async function get(path) {
    const response = await fetch(path);
    return response.json();
  }
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "text") node.textContent = value;
      else if (key === "class") node.className = value;
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children) node.append(child);
    return node;
  }
  function where(problem) {
    if (!problem.file) return "";
    return problem.line ? `${problem.file}:${problem.line}` : problem.file;
  }
  function showProblems(list, problems) {
    list.replaceChildren(...problems.map((p) => el("li", {},
      el("code", {text: where(p) || (p.output ? `${p.output} output` : "template")}), " ", p.message)));
  }
  function listen(onHello, onChange, onState) {
    const source = new EventSource("/events");
    source.addEventListener("hello", (event) => onHello(JSON.parse(event.data)));
    source.addEventListener("change", (event) => onChange(JSON.parse(event.data)));
    source.onopen = () => onState("live");
    source.onerror = () => onState("reconnecting…");
    return source;
  }
  return {post, get, el, where, showProblems, listen};
})();
