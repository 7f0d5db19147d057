/* Bar and grouped-bar charts with Chart.js (installed from npm, served from /assets/). */
"use strict";

const SamverkanCharts = (() => {
  // Okabe–Ito colours: told apart also with colour-vision deficiencies.
  const COLOURS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"];

  /**
   * Draw (or redraw) a bar chart on `canvas`: `labels` along the category axis, one dataset per series.
   * Long or many labels turn the bars horizontal so the labels stay readable.
   */
  function bars(canvas, labels, series, valueTitle) {
    if (!window.Chart) return null;
    const existing = Chart.getChart(canvas);
    if (existing) existing.destroy();
    const horizontal = labels.length > 8 || labels.some((label) => String(label).length > 18);
    const valueAxis = { beginAtZero: true, title: { display: Boolean(valueTitle), text: valueTitle } };
    return new Chart(canvas, {
      type: "bar",
      data: {
        labels,
        datasets: series.map((s, i) => ({
          label: s.label,
          data: s.data,
          backgroundColor: COLOURS[i % COLOURS.length],
        })),
      },
      options: {
        indexAxis: horizontal ? "y" : "x",
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        plugins: { legend: { display: series.length > 1, position: "top" } },
        scales: horizontal ? { x: valueAxis } : { y: valueAxis },
      },
    });
  }

  /** Series from SPARQL JSON rows: one per distinct `series` value (or a single one), values of `y` by `x`. */
  function fromRows(rows, x, y, seriesVar) {
    const text = (term) => (term ? term.value : "");
    const labels = [...new Set(rows.map((row) => text(row[x])))];
    const names = seriesVar ? [...new Set(rows.map((row) => text(row[seriesVar])))] : [y];
    const series = names.map((name) => {
      const byLabel = new Map();
      for (const row of rows) {
        if (seriesVar && text(row[seriesVar]) !== name) continue;
        byLabel.set(text(row[x]), Number(text(row[y])) + (byLabel.get(text(row[x])) || 0));
      }
      return { label: name, data: labels.map((label) => byLabel.get(label) ?? 0) };
    });
    return { labels, series };
  }

  return { bars, fromRows };
})();
