// Every sample's microsite and the first settled frame of every scene, one row per sample.
"use strict";
(() => {
  const {post, el, showProblems, listen} = window.Tailor;
  const $ = (id) => document.getElementById(id);
  let latest = 0;
  async function load() {
    const ticket = ++latest;
    const {status, data} = await post("/api/locales", {});
    if (ticket !== latest || status !== 200) return;
    $("template-name").textContent = `${data.samples.length} samples, ${data.seconds.toFixed(2)} s`;
    $("locales").replaceChildren(...data.samples.map((s) => el("section", {class: "locale-row", "data-sample": s.sample},
      el("div", {}, el("h2", {text: s.sample}),
        s.page ? el("iframe", {src: s.page, title: `Microsite ${s.sample}`, sandbox: "allow-scripts"}) : "",
        ...s.problems.map((p) => el("p", {class: "output-problem", text: `${window.Tailor.where(p)} ${p.message}`}))),
      el("div", {class: "stills"}, ...s.stills.map((still) =>
        el("figure", {}, el("img", {src: still.url, alt: `${s.sample} ${still.scene}`}), el("figcaption", {text: still.scene})))))));
    document.body.dataset.rendered = String(ticket);
  }
  function problems(list) { $("problems").hidden = list.length === 0; showProblems($("problem-list"), list); }
  listen((hello) => problems(hello.problems), (change) => { problems(change.problems); if (change.ok) load(); },
    (s) => { $("live").textContent = s; });
  load();
})();
