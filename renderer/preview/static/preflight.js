// The pre-flight report: findings per recipient and check, and the render cost.
"use strict";
window.TailorPreflight = (() => {
  const {el} = window.Tailor;
  function secs(s) { return s < 1 ? `${(s * 1000).toFixed(1)} ms` : `${s.toFixed(2)} s`; }
  function cost(c) {
    if (!c) return el("p", {text: "no render cost (nothing rendered)"});
    const outputs = Object.keys(c.per_output_warm || {});
    return el("div", {class: "cost"},
      el("p", {}, `Per recipient: ${secs(c.per_recipient_s)} warm (`,
        outputs.map((o) => `${o} ${secs(c.per_output_warm[o])}`).join(", "), ")"),
      el("p", {}, `First recipient (cold cache): `,
        Object.entries(c.per_output_cold || {}).map(([o, s]) => `${o} ${secs(s)}`).join(", ")),
      el("p", {}, `A campaign of ${c.campaign_size.toLocaleString()} (full-quality video) on ${c.workers} workers: about ${duration(c.campaign_s)}`));
  }
  function duration(s) {
    if (s < 120) return `${s.toFixed(1)} s`;
    if (s < 7200) return `${(s / 60).toFixed(1)} min`;
    return `${(s / 3600).toFixed(1)} h`;
  }
  function show(node, report) {
    const findings = report.findings || [];
    const summary = el("p", {class: findings.some((f) => f.severity === "error") ? "bad" : "good"},
      `${findings.length} finding${findings.length === 1 ? "" : "s"} over ${report.recipients} recipients`);
    const table = el("table", {class: "findings"},
      el("thead", {}, el("tr", {}, ...["check", "", "recipient", "where", "message"].map((h) => el("th", {text: h})))),
      el("tbody", {}, ...(findings.length ? [] : [el("tr", {}, el("td", {colspan: 5, text: "No findings: every text fits, every glyph exists, contrast and links are fine."}))]),
        ...findings.map((f) => el("tr", {class: f.severity, "data-check": f.check},
        el("td", {text: f.check}), el("td", {text: f.severity}), el("td", {text: f.recipient}),
        el("td", {text: f.file ? `${f.where} (${f.file}${f.line ? ":" + f.line : ""})` : f.where}),
        el("td", {text: f.message})))));
    node.replaceChildren(summary, table, cost(report.cost));
  }
  return {show};
})();
