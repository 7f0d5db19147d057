/* Samverkan KG pages: what the editor, the gallery and the comparison share.
   Plain script (no build step): messages in the page's language, running a query against this service,
   readable errors, a paged results table and file downloads. Everything stays on this host. */
"use strict";

const Samverkan = (() => {
  const readJson = (id) => {
    const element = document.getElementById(id);
    return element ? JSON.parse(element.textContent) : {};
  };
  const messages = readJson("messages");
  const prefixes = readJson("prefixes");
  const ID = "https://w3id.org/samverkan/id/";
  const ONTOLOGY = "https://w3id.org/samverkan/ontology";
  const NUMERIC = /#(integer|decimal|double|float|int|long|short|nonNegativeInteger|positiveInteger)$/;

  /** The interface text for `key`, with {name} placeholders filled in. */
  function t(key, values) {
    let text = messages[key] || key;
    for (const [name, value] of Object.entries(values || {})) text = text.split(`{${name}}`).join(String(value));
    return text;
  }

  function formatNumber(value, digits) {
    return Number(value).toLocaleString(document.documentElement.lang, { maximumFractionDigits: digits ?? 2 });
  }

  /** Where a browser should go for an IRI: our resource and ontology pages, else the IRI itself. */
  function localHref(iri) {
    if (iri.startsWith(ID)) return "/id/" + iri.slice(ID.length);
    if (iri === ONTOLOGY) return "/ontology";
    if (iri.startsWith(ONTOLOGY + "#")) return "/ontology" + iri.slice(ONTOLOGY.length);
    return iri;
  }

  function curie(iri) {
    for (const [prefix, namespace] of Object.entries(prefixes)) {
      if (iri.startsWith(namespace) && iri.length > namespace.length) return `${prefix}:${iri.slice(namespace.length)}`;
    }
    return iri;
  }

  /** A cell for one RDF term of a SPARQL JSON result. */
  function termNode(term) {
    if (!term) return document.createTextNode("");
    if (term.type === "uri") {
      const link = document.createElement("a");
      link.href = localHref(term.value);
      link.textContent = curie(term.value);
      link.title = term.value;
      return link;
    }
    if (term.type === "bnode") return document.createTextNode("_:" + term.value);
    const span = document.createElement("span");
    span.textContent = term.value;
    if (term["xml:lang"]) {
      const tag = document.createElement("span");
      tag.className = "lang-tag";
      tag.textContent = "@" + term["xml:lang"];
      span.append(" ", tag);
    } else if (term.datatype && !NUMERIC.test(term.datatype) && !term.datatype.endsWith("#string")) {
      const tag = document.createElement("span");
      tag.className = "datatype";
      tag.textContent = curie(term.datatype);
      span.append(" ", tag);
    }
    return span;
  }

  const isNumeric = (term) => term && term.type !== "uri" && term.datatype && NUMERIC.test(term.datatype);

  /** Send a query (POST form) and read the answer; never throws for HTTP errors, it reports them. */
  async function fetchQuery(url, params, accept) {
    const started = performance.now();
    let response;
    try {
      response = await fetch(url, {
        method: "POST",
        headers: { Accept: accept || "application/sparql-results+json" },
        body: new URLSearchParams(params),
      });
    } catch (error) {
      return { ok: false, status: 0, text: t("error_no_answer"), seconds: 0 };
    }
    const text = await response.text();
    const seconds = (performance.now() - started) / 1000;
    return {
      ok: response.ok,
      status: response.status,
      statusText: response.statusText,
      type: (response.headers.get("Content-Type") || "").split(";")[0].trim(),
      truncated: response.headers.get("Samverkan-Truncated"),
      text,
      seconds,
    };
  }

  /** Show an error answer in words: what went wrong, the service's own message, and what to try. */
  function showError(element, answer) {
    element.replaceChildren();
    const heading = document.createElement("p");
    heading.className = "error-title";
    let hint = "";
    if (answer.status === 0) {
      heading.textContent = t("error_no_answer");
    } else {
      heading.textContent = t("error_status", { status: `${answer.status} ${answer.statusText || ""}`.trim() });
      if (answer.status === 400) hint = t("error_hint_400");
      else if (answer.status === 422) hint = t("error_hint_422");
      else if (answer.status === 503) hint = t("error_hint_503");
      else if (answer.status === 413) hint = t("error_hint_413");
    }
    element.append(heading);
    if (answer.status !== 0 && answer.text) {
      const detail = document.createElement("pre");
      detail.className = "error-detail";
      let text = answer.text;
      try {
        text = JSON.parse(text).message || text; // the API answers errors as JSON
      } catch (_) {
        /* plain text from /sparql */
      }
      detail.textContent = text.trim();
      element.append(detail);
    }
    if (hint) {
      const advice = document.createElement("p");
      advice.textContent = hint;
      element.append(advice);
    }
    element.hidden = false;
  }

  /** Offer data as a file to save, without any request (a blob: URL). */
  function download(content, mediaType, filename) {
    const blob = content instanceof Blob ? content : new Blob([content], { type: mediaType });
    const url = URL.createObjectURL(blob);
    const link = document.createElement("a");
    link.href = url;
    link.download = filename;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  function button(label, onClick, attributes) {
    const element = document.createElement("button");
    element.type = "button";
    element.textContent = label;
    element.addEventListener("click", onClick);
    for (const [name, value] of Object.entries(attributes || {})) element.setAttribute(name, value);
    return element;
  }

  /**
   * A results table that renders one page at a time, so 10,000 rows stay quick; columns sort on a click.
   * `result` is SPARQL 1.1 JSON (head.vars, results.bindings).
   */
  class ResultsTable {
    constructor(container, result, options) {
      this.container = container;
      this.vars = result.head.vars || [];
      this.rows = result.results.bindings;
      this.caption = (options && options.caption) || t("results");
      this.pageSize = 100;
      this.page = 0;
      this.sortBy = null;
      this.descending = false;
      this.render();
    }

    pages() {
      return Math.max(1, Math.ceil(this.rows.length / this.pageSize));
    }

    sort(variable) {
      this.descending = this.sortBy === variable ? !this.descending : false;
      this.sortBy = variable;
      const direction = this.descending ? -1 : 1;
      const key = (row) => row[variable];
      this.rows = [...this.rows].sort((a, b) => {
        const x = key(a);
        const y = key(b);
        if (!x || !y) return (x ? -1 : y ? 1 : 0) * direction;
        if (isNumeric(x) && isNumeric(y)) return (Number(x.value) - Number(y.value)) * direction;
        return x.value.localeCompare(y.value, document.documentElement.lang) * direction;
      });
      this.page = 0;
      this.render();
      const header = this.container.querySelector(`th[data-var="${CSS.escape(variable)}"] button`);
      if (header) header.focus();
    }

    render() {
      const table = document.createElement("table");
      table.className = "results";
      const caption = document.createElement("caption");
      const first = this.page * this.pageSize;
      const last = Math.min(first + this.pageSize, this.rows.length);
      caption.textContent = `${this.caption}: ${t("rows_range", {
        first: this.rows.length ? formatNumber(first + 1) : 0,
        last: formatNumber(last),
        total: formatNumber(this.rows.length),
      })}`;
      table.append(caption);
      const head = table.createTHead().insertRow();
      for (const variable of this.vars) {
        const th = document.createElement("th");
        th.scope = "col";
        th.dataset.var = variable;
        if (this.sortBy === variable) th.setAttribute("aria-sort", this.descending ? "descending" : "ascending");
        th.append(button(variable, () => this.sort(variable), { title: t("sort_by", { column: variable }) }));
        head.append(th);
      }
      const body = table.createTBody();
      for (const row of this.rows.slice(first, last)) {
        const tr = body.insertRow();
        for (const variable of this.vars) {
          const cell = tr.insertCell();
          if (isNumeric(row[variable])) cell.className = "number";
          cell.append(termNode(row[variable]));
        }
      }
      const wrapper = document.createElement("div");
      wrapper.className = "table-scroll";
      wrapper.tabIndex = 0;
      wrapper.setAttribute("role", "region");
      wrapper.setAttribute("aria-label", this.caption);
      wrapper.append(table);
      this.container.replaceChildren(wrapper, this.pager());
    }

    pager() {
      const nav = document.createElement("nav");
      nav.className = "pager";
      nav.setAttribute("aria-label", t("pages_label"));
      // Keyboard users keep their place: the same button (or, once disabled, its opposite) has focus again.
      const go = (page, name, opposite) => () => {
        this.page = Math.min(Math.max(0, page), this.pages() - 1);
        this.render();
        const pager = this.container.querySelector(".pager");
        const again = pager.querySelector(`[data-go="${name}"]`);
        (again.disabled ? pager.querySelector(`[data-go="${opposite}"]`) : again).focus();
      };
      const atStart = this.page === 0;
      const atEnd = this.page >= this.pages() - 1;
      const first = button(t("page_first"), go(0, "first", "last"), { "data-go": "first" });
      const prev = button(t("page_previous"), go(this.page - 1, "prev", "next"), { "data-go": "prev" });
      const next = button(t("page_next"), go(this.page + 1, "next", "prev"), { "data-go": "next" });
      const last = button(t("page_last"), go(this.pages() - 1, "last", "first"), { "data-go": "last" });
      first.disabled = prev.disabled = atStart;
      next.disabled = last.disabled = atEnd;
      const where = document.createElement("span");
      where.className = "page-of";
      where.textContent = t("page_of", { page: this.page + 1, pages: formatNumber(this.pages()) });
      const sizeId = `page-size-${Math.random().toString(36).slice(2)}`;
      const sizeLabel = document.createElement("label");
      sizeLabel.htmlFor = sizeId;
      sizeLabel.textContent = t("page_size");
      const size = document.createElement("select");
      size.id = sizeId;
      for (const n of [25, 100, 500, 1000]) size.add(new Option(String(n), String(n), false, n === this.pageSize));
      size.addEventListener("change", () => {
        this.pageSize = Number(size.value);
        this.page = 0;
        this.render();
        this.container.querySelector(".pager select")?.focus();
      });
      nav.append(first, prev, where, next, last, sizeLabel, size);
      return nav;
    }
  }

  /** Render any answer of /sparql: a table for SELECT, yes/no for ASK, the text of a graph. */
  function showAnswer(container, answer, options) {
    container.replaceChildren();
    if (answer.type === "application/sparql-results+json" || answer.type === "application/json") {
      const result = JSON.parse(answer.text);
      if ("boolean" in result) {
        const p = document.createElement("p");
        p.className = "boolean-answer";
        p.textContent = result.boolean ? t("answer_yes") : t("answer_no");
        container.append(p);
        return { kind: "boolean", rows: 1, result };
      }
      new ResultsTable(container, result, options);
      return { kind: "bindings", rows: result.results.bindings.length, result };
    }
    const pre = document.createElement("pre");
    pre.className = "graph-answer";
    pre.tabIndex = 0;
    pre.textContent = answer.text;
    container.append(pre);
    return { kind: "graph", rows: null };
  }

  /** Copy text to the clipboard; where that is not allowed, select it in `fallback` for Ctrl+C. */
  async function copyText(text, fallback) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch (_) {
      if (fallback) {
        fallback.focus();
        fallback.select();
      }
      return false;
    }
  }

  /** Browser code from /assets/ that did not load (node_modules not installed): say so in words, with the fix,
      at the top of the page; the page's own scripts go on without it (a plain text box, no chart). */
  function reportMissingAssets() {
    const notice = document.getElementById("asset-notice");
    const missing = [...document.querySelectorAll("[data-asset]")].filter((element) =>
      element.tagName === "LINK" ? !(element.sheet && element.sheet.cssRules.length) : !window[element.dataset.global]
    );
    if (!notice || !missing.length) return;
    const title = document.createElement("p");
    title.className = "error-title";
    title.textContent = t("assets_missing", {
      files: missing.map((element) => element.dataset.asset).join(", "),
      effect: [...new Set(missing.map((element) => t(element.dataset.effect)))].join("; "),
    });
    const fix = document.createElement("p");
    t("assets_fix").split("`").forEach((part, index) => {
      if (index % 2 === 0) return fix.append(part);
      const code = document.createElement("code");
      code.textContent = part;
      fix.append(code);
    });
    notice.replaceChildren(title, fix);
    notice.hidden = false;
  }
  reportMissingAssets();

  return { t, formatNumber, localHref, curie, termNode, fetchQuery, showError, download, button, ResultsTable, showAnswer, copyText, prefixes };
})();
