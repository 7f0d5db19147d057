/* The query editor at /: YASQE (syntax highlighting, completion of variables and of our own prefixes),
   example queries, run, a paged table, CSV/JSON downloads and a link that holds the query. */
"use strict";

(() => {
  const { t, fetchQuery, showError, showAnswer, download, copyText, formatNumber } = Samverkan;
  const data = JSON.parse(document.getElementById("editor-data").textContent);
  const form = document.getElementById("query-form");
  const textarea = document.getElementById("query");
  const status = document.getElementById("status");
  const errorBox = document.getElementById("error");
  const results = document.getElementById("results");
  const shareUrl = document.getElementById("share-url");
  const csvButton = document.getElementById("download-csv");
  const jsonButton = document.getElementById("download-json");
  let lastAnswer = null;
  let running = false;

  // The editor: YASQE from the installed YASGUI bundle. Nothing in it may call another host: completion only
  // of variables and prefixes, prefixes read from this service, no share-link or short-link service, no
  // request of its own (we run the query), no state kept in localStorage (the URL holds the query).
  let editor = null;
  if (window.Yasgui && Yasgui.Yasqe) {
    const Yasqe = Yasgui.Yasqe;
    Yasqe.defaults.autocompleters = ["variables", "prefixes"];
    const holder = document.createElement("div");
    holder.className = "editor-holder";
    textarea.after(holder);
    editor = new Yasqe(holder, {
      value: textarea.value,
      prefixCcApi: new URL("/prefixes.json", location.href).href,
      persistenceId: null,
      consumeShareLink: null,
      createShareableLink: null,
      createShortLink: undefined,
      showQueryButton: false,
      resizeable: true,
      collapsePrefixesOnLoad: true,
      editorHeight: "320px",
      requestConfig: { endpoint: data.endpoint, method: "POST" },
      screenReaderLabel: document.getElementById("query-label").textContent,
      extraKeys: {
        "Ctrl-Enter": () => run(),
        "Cmd-Enter": () => run(),
        Esc: (cm) => cm.getInputField().blur(),
      },
    });
    textarea.hidden = true;
    const label = document.getElementById("query-label");
    label.addEventListener("click", () => editor.focus());
    editor.getInputField().setAttribute("aria-labelledby", "query-label");
    editor.getInputField().setAttribute("aria-describedby", "query-hint");
  }

  const getQuery = () => (editor ? editor.getValue() : textarea.value);
  const setQuery = (text) => {
    if (editor) editor.setValue(text);
    else textarea.value = text;
  };

  function linkFor(query) {
    const url = new URL(location.href);
    url.search = "";
    url.hash = "";
    url.searchParams.set("query", query);
    return url.href;
  }

  function updateLink() {
    const link = linkFor(getQuery());
    shareUrl.value = link;
    history.replaceState(null, "", link);
  }

  async function run() {
    if (running) return;
    running = true;
    form.setAttribute("aria-busy", "true");
    errorBox.hidden = true;
    csvButton.disabled = jsonButton.disabled = true;
    status.textContent = t("running");
    const query = getQuery();
    updateLink();
    const answer = await fetchQuery(data.endpoint, { query }, "application/sparql-results+json, text/turtle;q=0.9");
    running = false;
    form.removeAttribute("aria-busy");
    if (!answer.ok) {
      status.textContent = t("query_failed");
      results.replaceChildren();
      lastAnswer = null;
      showError(errorBox, answer);
      return;
    }
    const shown = showAnswer(results, answer);
    lastAnswer = { query, answer, kind: shown.kind };
    const seconds = formatNumber(answer.seconds, 2);
    status.textContent =
      shown.kind === "bindings"
        ? t("rows_in_seconds", { rows: formatNumber(shown.rows), seconds })
        : t("answered_in_seconds", { seconds });
    if (answer.truncated) status.textContent += " " + t("truncated_note", { note: answer.truncated });
    csvButton.disabled = shown.kind !== "bindings";
    jsonButton.disabled = shown.kind === "graph";
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    run();
  });

  jsonButton.addEventListener("click", () => {
    if (lastAnswer) download(lastAnswer.answer.text, "application/sparql-results+json", "results.json");
  });

  csvButton.addEventListener("click", async () => {
    if (!lastAnswer) return;
    const answer = await fetchQuery(data.endpoint, { query: lastAnswer.query, format: "csv" }, "text/csv");
    if (answer.ok) download(answer.text, "text/csv", "results.csv");
    else showError(errorBox, answer);
  });

  document.getElementById("copy-link").addEventListener("click", async () => {
    updateLink();
    const copied = await copyText(shareUrl.value, shareUrl);
    status.textContent = copied ? t("link_copied") : t("link_select_to_copy");
  });

  const examples = new Map(data.examples.map((example) => [example.name, example]));
  document.getElementById("examples").addEventListener("change", (event) => {
    const example = examples.get(event.target.value);
    if (!example) return;
    setQuery(example.sparql);
    updateLink();
    status.textContent = t("example_loaded", { title: example.title });
  });

  shareUrl.value = linkFor(getQuery());
  // A shared link runs its query at once, as the reader expects to see what was shared.
  if (new URLSearchParams(location.search).has("query")) run();
})();
