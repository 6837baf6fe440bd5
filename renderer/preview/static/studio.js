// The studio page: state in the query string (sample, edits, forced variants), renders on every
// valid edit and every save, the last good render kept while the template or data is broken.
"use strict";
(() => {
  const {post, get, el, showProblems, listen} = window.Tailor;
  const Editor = window.TailorEditor;
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  const state = {
    sample: params.get("sample") || "",
    edits: parseJson(params.get("edits")) || {},
    force: parseForce(params.get("force") || ""),
  };
  let info = null;
  let editor = null;
  let latest = 0;   // the newest request sent: older answers are dropped
  let timer = null;
  let pageId = null;
  let pending = null;  // {outputs, fresh} the newest request will render: a newer one takes them on

  function parseJson(text) { try { return text ? JSON.parse(text) : null; } catch (e) { return null; } }
  function parseForce(text) {
    return Object.fromEntries(text.split(",").filter(Boolean).map((pair) => pair.split(":")));
  }
  function forceText() {
    return Object.entries(state.force).filter(([, v]) => v).map(([k, v]) => `${k}:${v}`).sort().join(",");
  }
  function body() {
    return {sample: state.sample, edits: state.edits, force: forceText()};
  }
  function syncUrl() {
    const query = new URLSearchParams({sample: state.sample});
    if (Object.keys(state.edits).length) query.set("edits", JSON.stringify(state.edits));
    if (forceText()) query.set("force", forceText());
    history.replaceState(null, "", `?${query}`);
  }

  async function loadInfo() {
    info = await get("/api/template");
    showTemplateProblems(info.problems);
    if (!info.template) return false;
    const t = info.template;
    $("template-name").textContent = t.title || t.name;
    $("template-version").textContent = `${t.name} ${t.version}`;
    const names = Object.keys(t.samples);
    if (!names.includes(state.sample)) state.sample = names[0] || "";
    $("sample").replaceChildren(...names.map((n) => el("option", {value: n, text: n})));
    $("sample").value = state.sample;
    buildEditor();
    buildPickers(t.experiments);
    for (const [pane, output] of [["pane-site", "microsite"], ["pane-pdf", "pdf"], ["pane-video", "video"]]) {
      $(pane).hidden = !t.outputs.includes(output);
    }
    return true;
  }

  function sampleData() { return info.template.samples[state.sample]?.data || {}; }

  function buildEditor() {
    editor = Editor.build($("editor"), info.template.schema, sampleData(), ({edits, local}) => {
      state.edits = edits;
      syncUrl();
      schedule(local);
    });
    Editor.set($("editor"), state.edits, sampleData(), editor.kinds);
  }

  function buildPickers(experiments) {
    const names = Object.keys(experiments);
    $("decisions").hidden = names.length === 0 && !info.template.outputs.length;
    $("variant-pickers").replaceChildren(...names.map((exp) => {
      const select = el("select", {id: `force-${exp}`, "data-experiment": exp});
      select.append(el("option", {value: "", text: "as assigned"}));
      for (const v of experiments[exp]) select.append(el("option", {value: v, text: v}));
      select.value = state.force[exp] || "";
      select.onchange = () => { state.force[exp] = select.value; syncUrl(); renderAll(); };
      return el("label", {}, `${exp} `, select);
    }));
  }

  function schedule(local) {
    clearTimeout(timer);
    if (local && Object.keys(local).length) { Editor.showErrors($("editor"), local); return; }
    timer = setTimeout(checkThenRender, 150);
  }

  async function checkThenRender() {
    const ticket = ++latest;
    pending = {outputs: info.template.outputs, fresh: true};
    const {status, data} = await post("/api/check", body());
    if (ticket !== latest) return;
    const errors = status === 200 ? data.errors : {};
    Editor.showErrors($("editor"), errors);
    if (status === 200 && Object.keys(errors).length === 0) renderAll(ticket);
    else pending = null;
  }

  // Renders `outputs` (all the template offers by default) of the current state: the first
  // (the microsite) makes the render id the others join, so the page's PDF link and player find
  // their files; the draft video runs beside the page outputs. `fresh`: a new render (the data
  // changed); otherwise the saved file's outputs are rendered again into the shown render.
  // A render that supersedes one not yet shown in full renders that one's outputs too.
  async function renderAll(ticket, outputs, fresh = true) {
    ticket = ticket || ++latest;
    const offered = info.template.outputs;
    const before = pending || {outputs: [], fresh: false};
    outputs = offered.filter((o) => (outputs || offered).includes(o) || before.outputs.includes(o));
    pending = {outputs, fresh: fresh || before.fresh};
    fresh = pending.fresh;
    if (!outputs.length) { pending = null; return; }
    document.body.dataset.rendering = "1";
    const head = await renderOne(outputs[0], ticket, fresh ? null : pageId);
    if (head) {
      pageId = head.id;
      const rest = outputs.slice(1);
      const video = rest.includes("video") ? renderOne("video", ticket, pageId) : null;
      for (const output of rest.filter((o) => o !== "video")) await renderOne(output, ticket, pageId);
      const drafted = await video;
      if (drafted?.outputs.video && offered.includes("microsite") && ticket === latest) reloadSite(ticket);
    }
    if (ticket !== latest) return;
    pending = null;
    delete document.body.dataset.rendering;
    document.body.dataset.rendered = String(ticket);
  }

  async function renderOne(output, ticket, into) {
    const {status, data} = await post("/api/render", {...body(), output, into});
    if (ticket !== latest) return null;
    if (status === 422) { Editor.showErrors($("editor"), data.errors); return null; }
    if (status !== 200) return null;
    ({microsite: showSite, pdf: showPdf, video: showVideo})[output](data, ticket);
    showDecision(data.decision);
    return data;
  }

  function outputProblem(name, problems) {
    return problems.find((p) => p.output === name);
  }

  function setProblem(id, problem) {
    $(id).hidden = !problem;
    $(id).textContent = problem ? `${window.Tailor.where(problem) || ""} ${problem.message}` : "";
  }

  function showSite(data, ticket) {
    const site = data.outputs.microsite;
    setProblem("site-problem", outputProblem("microsite", data.problems));
    if (!site) return;
    $("site").src = `${site.url}?v=${ticket}`;
    $("site-time").textContent = `${(site.seconds * 1000).toFixed(0)} ms`;
  }

  function showPdf(data) {
    const pdf = data.outputs.pdf;
    setProblem("pdf-problem", outputProblem("pdf", data.problems));
    if (!pdf) return;
    const stamp = Date.now();
    $("pdf-open").href = pdf.url;
    $("pdf-time").textContent = `${(pdf.seconds * 1000).toFixed(0)} ms`;
    $("pdf-pages").replaceChildren(...pdf.pages.map((src, i) =>
      el("img", {src: `${src}?v=${stamp}`, alt: `PDF page ${i + 1}`, class: "pdf-page"})));
  }

  function reloadSite(ticket) {
    const url = new URL($("site").src);
    url.searchParams.set("v", `${ticket}-video`);
    $("site").src = url.href;
  }

  function showVideo(data) {
    const video = data.outputs.video;
    setProblem("video-problem", outputProblem("video", data.problems));
    if (!video) return;
    const player = $("video");
    player.replaceChildren();
    if (video.captions) player.append(el("track", {kind: "captions", src: video.captions, default: true, label: "Captions"}));
    player.poster = video.poster;
    player.src = video.url;
    // show the first scene just encoded (what the edit changed), else the first settled second
    const changed = video.timeline.find((row) => !row.cached) || video.timeline[0];
    player.addEventListener("loadedmetadata", () => {
      player.currentTime = Math.min(player.duration, (changed?.start || 0) + Math.min(1, (changed?.duration || 2) / 2));
    }, {once: true});
    $("video-time").textContent = `${video.seconds.toFixed(2)} s, ${video.encoded} of ${video.timeline.length} scenes encoded`;
    $("timeline").tBodies[0].replaceChildren(...video.timeline.map((row) => {
      const tr = el("tr", {"data-scene": row.id, class: row.cached ? "cached" : "encoded"},
        el("td", {text: row.index + 1}), el("td", {text: row.id}),
        el("td", {text: `${row.start.toFixed(2)} s`}), el("td", {text: `${row.duration.toFixed(2)} s`}),
        el("td", {text: row.personal ? "personal" : "shared"}),
        el("td", {text: row.cached ? "from cache" : "encoded"}),
        el("td", {}, el("div", {text: row.narration || "—"}),
          ...row.captions.map((c) => el("div", {class: "cue", text: `${c.start.toFixed(1)}–${c.end.toFixed(1)} ${c.text}`}))));
      tr.onclick = () => { player.currentTime = row.start + 0.05; };
      return tr;
    }));
  }

  function showDecision(decision) {
    if (!decision) return;
    $("variant-key").textContent = decision.variant_key || "–";
    const trace = decision.trace || {};
    $("decisions").hidden = !(trace.triggers?.length || Object.keys(trace.experiments || {}).length);
    $("slot-list").replaceChildren(...Object.entries(decision.slots).map(([slot, winners]) =>
      el("li", {}, el("b", {text: slot}), `: ${winners.length ? winners.join(", ") : "(empty)"}`)));
    const items = (trace.triggers || []).map((t) =>
      el("li", {class: t.fired ? "fired" : ""}, `${t.id} v${t.version}: ${t.fired ? "fired" : t.reason}`));
    for (const [exp, arm] of Object.entries(trace.experiments || {})) {
      items.push(el("li", {}, `${exp}: ${arm.variant} (arm ${arm.arm}, seed ${arm.seed}, holdout ${Math.round(arm.holdout * 100)}%)`));
    }
    $("trace").replaceChildren(...items);
  }

  function showTemplateProblems(problems) {
    $("problems").hidden = problems.length === 0;
    showProblems($("problem-list"), problems);
  }

  async function onChange(change) {
    showTemplateProblems(change.problems);
    if (!change.ok) return;
    // a page file saved: render its outputs again into the shown render; anything else (the
    // manifest, samples, texts, assets) may change the contract and samples too
    const everything = info.template && info.template.outputs.every((o) => change.affects.includes(o));
    if (everything || !info.template) await loadInfo();
    renderAll(null, change.affects, !pageId || everything);
  }

  async function runPreflight(event) {
    event.preventDefault();
    $("preflight-status").textContent = "running…";
    const {status, data} = await post("/api/preflight", {
      synthetic: Number($("pf-synthetic").value), campaign_size: Number($("pf-size").value),
    });
    if (status !== 200) { $("preflight-status").textContent = data.error || "failed"; return; }
    $("preflight-status").textContent = `${data.findings.length} findings, see the report`;
    $("pane-preflight").hidden = false;
    window.TailorPreflight.show($("preflight"), data);
    $("pane-preflight").scrollIntoView({behavior: "smooth"});
  }

  async function start() {
    $("sample").onchange = () => { state.sample = $("sample").value; state.edits = {}; syncUrl(); buildEditor(); renderAll(); };
    $("reset").onclick = () => { state.edits = {}; syncUrl(); buildEditor(); Editor.showErrors($("editor"), {}); renderAll(); };
    $("copy-link").onclick = () => navigator.clipboard?.writeText(location.href);
    $("preflight-form").onsubmit = runPreflight;
    listen(onHello, onChange, (s) => { $("live").textContent = s; });
    if (await loadInfo()) { syncUrl(); renderAll(); }
  }
  function onHello(hello) {
    showTemplateProblems(hello.problems);
    // a template that loads now, where the page had none (start() renders the first one)
    if (info && !info.template && !hello.problems.length) loadInfo().then((ok) => ok && renderAll());
  }
  start();
})();
