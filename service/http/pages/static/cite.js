/* "Cite this" under a saved query's result or a comparison: a link to the cite URL and a button that copies
   the BibTeX, when the answer was computed on a data release; otherwise how to make one (docs/citing.md). */
"use strict";

const SamverkanCite = (() => {
  const { t } = Samverkan;

  /** The cite-as target of a Link header (RFC 8574), or null. */
  function citeAs(linkHeader) {
    for (const part of (linkHeader || "").split(",")) {
      const match = part.match(/<([^>]*)>\s*;\s*rel="?cite-as"?/);
      if (match) return match[1];
    }
    return null;
  }

  async function copyBibtex(url, status) {
    try {
      const twin = new URL(url);
      twin.searchParams.set("format", "json");
      const response = await fetch(twin, { headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(String(response.status));
      await navigator.clipboard.writeText((await response.json()).citation.bibtex);
      status.textContent = t("cite_copied");
    } catch (_) {
      status.textContent = t("cite_copy_failed");
    }
  }

  /** Fill `box` for an answer: `url` its cite URL (or null), `release` the Samverkan-Release header. */
  function show(box, url, release) {
    box.replaceChildren();
    box.hidden = false;
    const line = document.createElement("p");
    if (!url) {
      line.className = "hint";
      line.textContent = t("cite_make_release");
      box.append(line);
      return;
    }
    const link = document.createElement("a");
    link.href = url;
    link.id = "cite-link";
    link.textContent = t("cite_this");
    const button = document.createElement("button");
    button.type = "button";
    button.id = "copy-bibtex";
    button.textContent = t("cite_copy_bibtex");
    const status = document.createElement("span");
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");
    button.addEventListener("click", () => copyBibtex(url, status));
    line.append(t("cite_on_release", { release }), " ", link, " ", button, " ", status);
    box.append(line);
  }

  // A page rendered with its answer's citation (the comparison) names it on the box.
  const rendered = document.getElementById("cite-box");
  if (rendered && rendered.dataset.release !== undefined) {
    show(rendered, rendered.dataset.cite || null, rendered.dataset.release);
  }

  return { citeAs, show };
})();
