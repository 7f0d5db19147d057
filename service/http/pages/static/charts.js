/* Bar and grouped-bar charts with Chart.js (installed from npm, served from /assets/). */
"use strict";

const SamverkanCharts = (() => {
  // Okabe–Ito colours: told apart also with colour-vision deficiencies.
  const COLOURS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"];

  /** Draws each bar's interval (a dataset's `errorBars`: [low, high] or null per bar) as a line with end ticks. */
  const ERROR_BARS = {
    id: "samverkanErrorBars",
    afterDatasetsDraw(chart) {
      const { ctx } = chart;
      const horizontal = chart.options.indexAxis === "y";
      const valueScale = horizontal ? chart.scales.x : chart.scales.y;
      ctx.save();
      ctx.strokeStyle = "#222";
      ctx.lineWidth = 1.5;
      chart.data.datasets.forEach((dataset, i) => {
        const meta = chart.getDatasetMeta(i);
        if (!dataset.errorBars || meta.hidden) return;
        meta.data.forEach((bar, j) => {
          const interval = dataset.errorBars[j];
          if (!interval) return;
          const [low, high] = interval.map((v) => valueScale.getPixelForValue(v));
          const centre = horizontal ? bar.y : bar.x;
          const tick = Math.min(6, (horizontal ? bar.height : bar.width) / 3 || 6);
          ctx.beginPath();
          for (const [a, b, c, d] of [[low, centre, high, centre], [low, centre - tick, low, centre + tick], [high, centre - tick, high, centre + tick]]) {
            if (horizontal) { ctx.moveTo(a, b); ctx.lineTo(c, d); } else { ctx.moveTo(b, a); ctx.lineTo(d, c); }
          }
          ctx.stroke();
        });
      });
      ctx.restore();
    },
  };

  /**
   * Draw (or redraw) a bar chart on `canvas`: `labels` along the category axis, one dataset per series.
   * Long or many labels turn the bars horizontal so the labels stay readable. A series may carry `errors`:
   * an interval [low, high] (or null) per bar, drawn over the bar.
   */
  function bars(canvas, labels, series, valueTitle) {
    if (!window.Chart) return null;
    const existing = Chart.getChart(canvas);
    if (existing) existing.destroy();
    const horizontal = labels.length > 8 || labels.some((label) => String(label).length > 18);
    const valueAxis = { beginAtZero: true, title: { display: Boolean(valueTitle), text: valueTitle } };
    const highs = series.flatMap((s) => (s.errors || []).filter(Boolean).map((interval) => interval[1]));
    if (highs.length) valueAxis.suggestedMax = Math.max(...highs); // the intervals stay inside the chart
    return new Chart(canvas, {
      type: "bar",
      data: {
        labels,
        datasets: series.map((s, i) => ({
          label: s.label,
          data: s.data,
          backgroundColor: COLOURS[i % COLOURS.length],
          errorBars: s.errors || null,
        })),
      },
      plugins: [ERROR_BARS],
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
