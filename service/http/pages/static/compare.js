/* Compare studies: the chart of the server-rendered comparison, as shares (in percent, with their Wilson
   intervals as error bars) or counts; values whose adjusted p is below 0.05 are marked ●. */
"use strict";

(() => {
  const { t } = Samverkan;
  const comparison = JSON.parse(document.getElementById("compare-data").textContent);
  const canvas = document.getElementById("compare-chart");
  const SIGNIFICANT = 0.05;
  const labels = comparison.rows.map((row) =>
    row.p_adjusted !== null && row.p_adjusted < SIGNIFICANT ? `${row.label} ●` : row.label,
  );
  const percent = (fraction) => (fraction === null ? null : 100 * fraction);

  function draw(measure) {
    const series = comparison.studies.map((study, i) => {
      const cells = comparison.rows.map((row) => row.cells[i]);
      if (measure === "count") return { label: study.label, data: cells.map((cell) => cell.count) };
      return {
        label: study.label,
        data: cells.map((cell) => percent(cell.share)),
        errors: cells.map((cell) => (cell.share === null ? null : [percent(cell.ci_low), percent(cell.ci_high)])),
      };
    });
    SamverkanCharts.bars(canvas, labels, series, measure === "percent" ? t("compare_share_axis") : t("compare_count_axis"));
  }

  for (const radio of document.querySelectorAll('input[name="measure"]')) {
    radio.addEventListener("change", () => draw(radio.value));
  }
  draw("percent");
})();
