// recouvre console: small enhancements on top of pages that work without JavaScript.
(function () {
  "use strict";

  // htmx (served from /assets, pinned by the bootstrap): let refused filters (400) and
  // refused forms (422) replace the content too, so their field errors show in place.
  if (window.htmx) {
    window.htmx.config.responseHandling = [
      { code: "204", swap: false },
      { code: "[23]..", swap: true },
      { code: "400|422", swap: true, error: false },
      { code: "[45]..", swap: false, error: true },
    ];
  }

  var BAND_COLOURS = ["#4c9a6a", "#e0b040", "#e07b39", "#c9452e", "#7d1f1f"];

  function draw() {
    var source = document.getElementById("chart-data");
    if (!source || !window.Chart) return;
    var data = JSON.parse(source.textContent);
    var aged = document.getElementById("aged-chart");
    if (aged && !window.Chart.getChart(aged)) {
      new window.Chart(aged, {
        type: "bar",
        data: {
          labels: data.aged.labels,
          datasets: data.aged.bands.map(function (band, i) {
            return { label: band.label, data: band.data, backgroundColor: BAND_COLOURS[i] };
          }),
        },
        options: {
          indexAxis: "y",
          animation: false,
          maintainAspectRatio: false,
          scales: { x: { stacked: true, title: { display: true, text: "€" } }, y: { stacked: true } },
        },
      });
    }
    var dso = document.getElementById("dso-chart");
    if (dso && !window.Chart.getChart(dso)) {
      new window.Chart(dso, {
        type: "line",
        data: {
          labels: data.dso.labels,
          datasets: [{ label: "DSO (jours)", data: data.dso.data, borderColor: "#1f4e79", tension: 0.2 }],
        },
        options: { animation: false, maintainAspectRatio: false, scales: { y: { beginAtZero: true } } },
      });
    }
  }

  document.addEventListener("DOMContentLoaded", draw);
  document.addEventListener("htmx:afterSettle", draw);
})();
