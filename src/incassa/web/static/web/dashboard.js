/* The dashboard's charts, drawn with Chart.js from the figures the page embeds as JSON
   (#dashboard-data). Every chart has a table beside or below it with the same figures, so
   the page says everything without JavaScript and to a screen reader. Amounts and dates
   are formatted in the page's language (the <html lang>), as the tables are. */
(function () {
  "use strict";
  var source = document.getElementById("dashboard-data");
  if (!source || typeof Chart === "undefined") {
    return;
  }
  var data = JSON.parse(source.textContent);
  var lang = document.documentElement.lang || "it";
  var css = getComputedStyle(document.documentElement);
  var colour = function (name) {
    return css.getPropertyValue(name).trim();
  };
  var euro = new Intl.NumberFormat(lang, { style: "currency", currency: "EUR", maximumFractionDigits: 0 });
  var euroCents = new Intl.NumberFormat(lang, { style: "currency", currency: "EUR" });
  var number = new Intl.NumberFormat(lang, { maximumFractionDigits: 1 });
  var day = new Intl.DateTimeFormat(lang, { day: "2-digit", month: "2-digit", year: "numeric" });
  var dayLabel = function (iso) {
    var parts = iso.split("-");
    return day.format(new Date(Number(parts[0]), Number(parts[1]) - 1, Number(parts[2])));
  };

  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = colour("--muted");
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.animation = false;

  var moneyTooltip = {
    callbacks: {
      label: function (context) {
        return context.dataset.label + ": " + euroCents.format(context.parsed.y ?? context.parsed.x);
      },
    },
  };

  function draw(id, config) {
    var canvas = document.getElementById(id);
    if (canvas) {
      new Chart(canvas, config);
    }
  }

  if (data.trend.dates.length > 1) {
    draw("chart-trend", {
      type: "line",
      data: {
        labels: data.trend.dates.map(dayLabel),
        datasets: [
          { label: data.labels.open, data: data.trend.open, borderColor: colour("--accent"), backgroundColor: colour("--accent"), tension: 0.2 },
          { label: data.labels.overdue, data: data.trend.overdue, borderColor: colour("--overdue"), backgroundColor: colour("--overdue"), tension: 0.2 },
        ],
      },
      options: {
        plugins: { tooltip: moneyTooltip },
        scales: { y: { beginAtZero: true, ticks: { callback: function (v) { return euro.format(v); } } } },
      },
    });
    draw("chart-dso", {
      type: "line",
      data: {
        labels: data.trend.dates.map(dayLabel),
        datasets: [{ label: data.labels.dso, data: data.trend.dso, borderColor: colour("--b-61_90"), backgroundColor: colour("--b-61_90"), tension: 0.2, spanGaps: true }],
      },
      options: {
        plugins: { legend: { display: false } },
        scales: { y: { beginAtZero: true, ticks: { callback: function (v) { return number.format(v); } } } },
      },
    });
  }

  draw("chart-aging", {
    type: "bar",
    data: {
      labels: data.aging.map(function (b) { return b.label; }),
      datasets: [{
        label: data.labels.open,
        data: data.aging.map(function (b) { return b.amount; }),
        backgroundColor: data.aging.map(function (b) { return colour("--b-" + b.key); }),
      }],
    },
    options: {
      plugins: { legend: { display: false }, tooltip: moneyTooltip },
      scales: { y: { beginAtZero: true, ticks: { callback: function (v) { return euro.format(v); } } } },
    },
  });

  if (data.channels.labels.length) {
    draw("chart-channels", {
      type: "bar",
      data: {
        labels: data.channels.labels,
        datasets: [
          { label: data.labels.gone_out, data: data.channels.gone_out, backgroundColor: colour("--b-not_due") },
          { label: data.labels.waiting, data: data.channels.waiting, backgroundColor: colour("--b-31_60") },
          { label: data.labels.failed, data: data.channels.failed, backgroundColor: colour("--overdue") },
          { label: data.labels.cancelled, data: data.channels.cancelled, backgroundColor: colour("--track") },
        ],
      },
      options: {
        indexAxis: "y",
        scales: { x: { stacked: true, ticks: { precision: 0 } }, y: { stacked: true } },
      },
    });
  }
})();
