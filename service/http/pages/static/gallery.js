/* The saved-query gallery: search and tag filters for the list; for one query, run it through the API with
   the form's parameters, show a paged table and (when its view asks for one) a bar chart, and show the same
   request as an API URL, a curl command and a Python (SPARQLWrapper) snippet. */
"use strict";

(() => {
  const { t, fetchQuery, showError, showAnswer, download, formatNumber } = Samverkan;

  // --- the list: search and tags ---------------------------------------------------------------------------
  const search = document.getElementById("query-search");
  const items = [...document.querySelectorAll("#query-list > li")];
  const tagButtons = [...document.querySelectorAll("#tag-filter button")];
  const count = document.getElementById("query-count");

  function filter() {
    const words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    const tags = tagButtons.filter((b) => b.getAttribute("aria-pressed") === "true").map((b) => b.dataset.tag);
    let shown = 0;
    for (const item of items) {
      const itemTags = item.dataset.tags.split("|");
      const visible =
        words.every((word) => item.dataset.search.includes(word)) && tags.every((tag) => itemTags.includes(tag));
      item.hidden = !visible;
      if (visible) shown += 1;
    }
    count.textContent = t("gallery_shown", { shown, total: items.length });
  }
  search.addEventListener("input", filter);
  for (const button of tagButtons) {
    button.addEventListener("click", () => {
      button.setAttribute("aria-pressed", button.getAttribute("aria-pressed") === "true" ? "false" : "true");
      filter();
    });
  }
  filter();

  // --- one query ------------------------------------------------------------------------------------------
  const dataElement = document.getElementById("query-data");
  if (!dataElement) return;
  const query = JSON.parse(dataElement.textContent);
  const form = document.getElementById("parameter-form");
  const status = document.getElementById("status");
  const citeBox = document.getElementById("cite-box");
  const errorBox = document.getElementById("error");
  const results = document.getElementById("results");
  const chartBox = document.getElementById("chart-box");
  const canvas = document.getElementById("chart");
  const downloads = document.getElementById("downloads");
  const apiBase = new URL(query.url, location.href).href;
  const isGraph = query.form === "construct" || query.form === "describe";

  /** The form's values as request parameters (empty fields left out, as the API reads them). */
  function parameters() {
    const params = new URLSearchParams();
    for (const [name, value] of new FormData(form)) {
      if (String(value).trim()) params.append(name, value);
    }
    return params;
  }

  const quote = (text) => `'${String(text).replace(/'/g, "'\\''")}'`;
  const pyString = (text) => JSON.stringify(String(text));

  function showReuse(params) {
    const url = params.toString() ? `${apiBase}?${params}` : apiBase;
    document.getElementById("api-url").textContent = url;
    const accept = isGraph ? "text/turtle" : "text/csv";
    document.getElementById("curl").textContent = `curl ${quote(url)} -H 'Accept: ${accept}'`;
    const lines = [
      `from SPARQLWrapper import SPARQLWrapper, ${isGraph ? "TURTLE" : "JSON"}`,
      "",
      `sparql = SPARQLWrapper(${pyString(apiBase)})`,
      ...[...params].map(([name, value]) => `sparql.addParameter(${pyString(name)}, ${pyString(value)})`),
      'sparql.setQuery("")  # the saved query brings its own SPARQL',
      `sparql.setReturnFormat(${isGraph ? "TURTLE" : "JSON"})`,
      isGraph ? "turtle = sparql.query().convert()" : 'rows = sparql.queryAndConvert()["results"]["bindings"]',
    ];
    document.getElementById("python").textContent = lines.join("\n");
  }

  function drawChart(answerText) {
    const view = query.view || {};
    chartBox.hidden = true;
    if (!["bar", "grouped-bar"].includes(view.type) || !window.Chart) return;
    const result = JSON.parse(answerText);
    const rows = result.results ? result.results.bindings : [];
    if (!rows.length || !view.x || !view.y) return;
    const { labels, series } = SamverkanCharts.fromRows(rows, view.x, view.y, view.type === "grouped-bar" ? view.series : null);
    chartBox.hidden = false;
    SamverkanCharts.bars(canvas, labels, series, view.y);
  }

  let running = false;
  async function run() {
    if (running) return;
    if (!form.reportValidity()) return;
    running = true;
    form.setAttribute("aria-busy", "true");
    errorBox.hidden = true;
    downloads.hidden = true;
    citeBox.hidden = true;
    status.textContent = t("running");
    const params = parameters();
    showReuse(params);
    const page = new URL(location.href);
    page.search = params.toString();
    history.replaceState(null, "", page.href);
    const accept = isGraph ? "text/turtle" : "application/sparql-results+json";
    const url = params.toString() ? `${apiBase}?${params}` : apiBase;
    const started = performance.now();
    let answer;
    try {
      const response = await fetch(url, { headers: { Accept: accept } });
      answer = {
        ok: response.ok,
        status: response.status,
        statusText: response.statusText,
        type: (response.headers.get("Content-Type") || "").split(";")[0].trim(),
        truncated: response.headers.get("Samverkan-Truncated"),
        cite: SamverkanCite.citeAs(response.headers.get("Link")),
        release: response.headers.get("Samverkan-Release"),
        text: await response.text(),
        seconds: (performance.now() - started) / 1000,
      };
    } catch (_) {
      answer = { ok: false, status: 0, text: "" };
    }
    running = false;
    form.removeAttribute("aria-busy");
    if (!answer.ok) {
      status.textContent = t("query_failed");
      results.replaceChildren();
      chartBox.hidden = true;
      showError(errorBox, answer);
      return;
    }
    const shown = showAnswer(results, answer, { caption: query.title[document.documentElement.lang] });
    if (shown.kind === "bindings") drawChart(answer.text);
    const seconds = formatNumber(answer.seconds, 2);
    status.textContent =
      shown.kind === "bindings"
        ? t("rows_in_seconds", { rows: formatNumber(shown.rows), seconds })
        : t("answered_in_seconds", { seconds });
    if (answer.truncated) status.textContent += " " + t("truncated_note", { note: answer.truncated });
    const csvParams = new URLSearchParams(params);
    csvParams.set("format", isGraph ? "turtle" : "csv");
    const csvLink = document.getElementById("download-csv");
    csvLink.href = `${apiBase}?${csvParams}`;
    csvLink.textContent = isGraph ? t("download_turtle") : t("download_csv");
    csvLink.setAttribute("download", `${query.name}.${isGraph ? "ttl" : "csv"}`);
    const jsonLink = document.getElementById("download-json");
    jsonLink.onclick = (event) => {
      event.preventDefault();
      download(answer.text, answer.type, `${query.name}.${isGraph ? "ttl" : "json"}`);
    };
    jsonLink.parentElement.hidden = isGraph;
    downloads.hidden = false;
    if (query.form === "select") SamverkanCite.show(citeBox, answer.cite, answer.release);
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    run();
  });
  form.addEventListener("input", () => showReuse(parameters()));
  form.addEventListener("change", () => showReuse(parameters()));
  showReuse(parameters());

  // Run at once when nothing required is missing (a shared link, or a query without required parameters).
  const missing = query.parameters.some((p) => p.required && !parameters().has(p.name));
  if (!missing) run();
})();
