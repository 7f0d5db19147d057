/* Compare studies: the chart of the server-rendered comparison, as shares or counts. */
"use strict";

(() => {
  const { t } = Samverkan;
  const comparison = JSON.parse(document.getElementById("compare-data").textContent);
  const canvas = document.getElementById("compare-chart");
  const labels = comparison.rows.map((row) => row.label);

  function draw(measure) {
    const series = comparison.studies.map((study, i) => ({
      label: study.label,
      data: comparison.rows.map((row) => row.cells[i][measure]),
    }));
    SamverkanCharts.bars(canvas, labels, series, measure === "percent" ? t("compare_share_axis") : t("compare_count_axis"));
  }

  for (const radio of document.querySelectorAll('input[name="measure"]')) {
    radio.addEventListener("change", () => draw(radio.value));
  }
  draw("percent");
})();
