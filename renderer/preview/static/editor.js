// The data editor: one input per contract field, built from the contract's JSON Schema.
// Values are sent as typed (text for numbers and dates, as a CSV cell would be) and the server's
// validator — the one campaigns use — says what is wrong, beside the field.
"use strict";
window.TailorEditor = (() => {
  const {el} = window.Tailor;

  function kindOf(schema) {
    if (schema.enum) return "enum";
    if (schema.type === "boolean") return "bool";
    if (schema.type === "array") return "list";
    return "text";
  }

  function hint(name, schema, required) {
    const parts = [schema["x-tailor-type"] || schema.type];
    if (required) parts.push("required");
    if (schema.maxLength !== undefined) parts.push(`≤ ${schema.maxLength} chars`);
    if (schema.minimum !== undefined) parts.push(`≥ ${schema.minimum}`);
    if (schema.maximum !== undefined) parts.push(`≤ ${schema.maximum}`);
    if (schema.maxItems !== undefined) parts.push(`≤ ${schema.maxItems} items`);
    if (schema["x-personal"]) parts.push("personal");
    return parts.join(", ");
  }

  function shown(value, kind) {
    if (value === undefined || value === null) return kind === "list" ? "[]" : "";
    if (kind === "list") return JSON.stringify(value, null, 1);
    return String(value);
  }

  function input(name, schema, kind, value, required) {
    const id = `field-${name}`;
    if (kind === "bool") {
      return el("input", {id, name, type: "checkbox", checked: Boolean(value)});
    }
    if (kind === "enum") {
      const select = el("select", {id, name});
      if (!required) select.append(el("option", {value: "", text: "(none)"}));
      for (const choice of schema.enum) select.append(el("option", {value: choice, text: choice}));
      select.value = shown(value, kind);
      return select;
    }
    if (kind === "list") {
      const area = el("textarea", {id, name, rows: 6, spellcheck: "false", "data-json": true});
      area.value = shown(value, kind);
      return area;
    }
    const type = schema.format === "date" ? "date" : "text";
    const mode = ["integer", "number"].includes(schema.type) || Array.isArray(schema.type) ? "decimal" : null;
    const field = el("input", {id, name, type, inputmode: mode, autocomplete: "off", spellcheck: "false"});
    field.value = shown(value, kind);
    return field;
  }

  // Builds the form; `onChange(edits)` is called with every field that differs from the sample.
  function build(form, schema, sample, onChange) {
    const required = new Set(schema.required || []);
    const rows = [];
    const kinds = {};
    for (const [name, fieldSchema] of Object.entries(schema.properties || {})) {
      const kind = kindOf(fieldSchema);
      kinds[name] = kind;
      const control = input(name, fieldSchema, kind, sample[name], required.has(name));
      const error = el("span", {class: "field-error", id: `error-${name}`, role: "alert"});
      control.setAttribute("aria-describedby", `error-${name}`);
      rows.push(el("div", {class: "field", "data-field": name},
        el("label", {for: control.id}, el("span", {text: name}), el("small", {text: hint(name, fieldSchema, required.has(name))})),
        control, error));
    }
    form.replaceChildren(...rows);
    const read = () => collect(form, kinds, sample);
    form.oninput = () => onChange(read());
    form.onchange = () => onChange(read());
    return {kinds, read};
  }

  function collect(form, kinds, sample) {
    const edits = {};
    const local = {};
    for (const [name, kind] of Object.entries(kinds)) {
      const control = form.elements.namedItem(name);
      let value;
      if (kind === "bool") value = control.checked;
      else if (kind === "list") {
        try { value = JSON.parse(control.value || "[]"); } catch (e) { local[name] = "is not valid JSON"; continue; }
      } else value = control.value;
      const before = sample[name];
      const same = kind === "list" ? JSON.stringify(value) === JSON.stringify(before ?? [])
        : kind === "bool" ? value === Boolean(before) : value === shown(before, kind);
      if (!same) edits[name] = value;
    }
    return {edits, local};
  }

  function set(form, edits, sample, kinds) {
    for (const [name, kind] of Object.entries(kinds)) {
      const control = form.elements.namedItem(name);
      const value = name in edits ? edits[name] : sample[name];
      if (kind === "bool") control.checked = Boolean(value);
      else control.value = shown(value, kind);
    }
  }

  function showErrors(form, errors) {
    for (const span of form.querySelectorAll(".field-error")) {
      const name = span.id.slice("error-".length);
      const message = errors[name] || Object.entries(errors).find(([k]) => k.startsWith(`${name}.`))?.join(": ") || "";
      span.textContent = message;
      span.closest(".field").classList.toggle("invalid", Boolean(message));
    }
  }

  return {build, set, showErrors};
})();
