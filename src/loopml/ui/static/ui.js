// loopml UI: charts mounted on demand (uPlot), metric search, control handling.
// A chart is built only when its box scrolls into view (data-lazy="visible") or its
// table row is opened (data-lazy="open"), so a run with thousands of metrics opens at once.
(function () {
  "use strict";
  var PALETTE = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000"];
  var mounted = [];  // {el, raw}

  function settings() {
    var x = document.getElementById("x-axis");
    var s = document.getElementById("smoothing");
    var l = document.getElementById("log-scale");
    return {
      x: x ? x.value : "step",
      smoothing: s ? parseFloat(s.value) || 0 : 0,
      log: l ? l.checked : false
    };
  }

  function smooth(values, weight) {
    if (!weight) return values;
    var out = [], last = null;
    for (var i = 0; i < values.length; i++) {
      var v = values[i];
      if (v === null || v === undefined) { out.push(null); continue; }
      last = last === null ? v : last * weight + v * (1 - weight);
      out.push(last);
    }
    return out;
  }

  // Align several series (each {x: [], y: []}) on the union of their x values.
  function align(series) {
    var xs = {};
    series.forEach(function (s) { s.x.forEach(function (v) { xs[v] = true; }); });
    var keys = Object.keys(xs).map(Number).sort(function (a, b) { return a - b; });
    var index = {};
    keys.forEach(function (v, i) { index[v] = i; });
    var data = [keys];
    series.forEach(function (s) {
      var ys = new Array(keys.length).fill(null);
      for (var i = 0; i < s.x.length; i++) ys[index[s.x[i]]] = s.y[i];
      data.push(ys);
    });
    return data;
  }

  function draw(el, raw) {
    var opts = settings();
    if (el._plot) { el._plot.destroy(); el._plot = null; }
    el.textContent = "";
    var series = raw.series.map(function (s) {
      var x = raw.time ? s.time : (opts.x === "time" ? s.time : s.step);
      var y = smooth(s.value, opts.smoothing);
      if (opts.log) y = y.map(function (v) { return v !== null && v > 0 ? v : null; });
      return {x: x, y: y};
    });
    var points = series.reduce(function (n, s) { return n + s.x.length; }, 0);
    if (!points) {
      var p = document.createElement("p");
      p.className = "empty";
      p.textContent = raw.title + ": no points";
      el.appendChild(p);
      return;
    }
    var width = Math.max(300, el.clientWidth - 10);
    var timeAxis = raw.time || opts.x === "time";
    var plot = new uPlot({
      title: raw.title,
      width: width,
      height: 200,
      scales: {x: {time: timeAxis}, y: opts.log ? {distr: 3} : {}},
      series: [{label: timeAxis ? "time" : "step"}].concat(raw.series.map(function (s, i) {
        return {label: s.label, stroke: s.colour || PALETTE[i % PALETTE.length], width: 1.5, spanGaps: true,
                points: {show: series[i].x.length < 60}};
      })),
      axes: [{}, {}]
    }, align(series), el);
    el._plot = plot;
  }

  function getJSON(url) {
    return fetch(url, {credentials: "same-origin"}).then(function (r) {
      if (!r.ok) throw new Error(url + " answered " + r.status);
      return r.json();
    });
  }

  function load(el) {
    if (el.dataset.mounted) return;
    el.dataset.mounted = "1";
    var job;
    if (el.dataset.windows) {
      job = getJSON(el.dataset.windows).then(function (w) {
        var group = w[el.dataset.series] || {};
        return {title: el.getAttribute("aria-label"), time: true, series: Object.keys(group).map(function (k) {
          return {label: k, time: w.time, step: w.time, value: group[k]};
        })};
      });
    } else {
      var runs = el.dataset.runs.split(",");
      var colours = (el.dataset.colours || "").split(",");
      var key = el.dataset.key;
      var labels = el.dataset.labels ? JSON.parse(el.dataset.labels) : [];
      job = Promise.all(runs.map(function (run) {
        return getJSON("/runs/" + encodeURIComponent(run) + "/metric?key=" + encodeURIComponent(key));
      })).then(function (results) {
        return {title: key, series: results.map(function (r, i) {
          return {label: runs.length > 1 ? (labels[i] || r.run.slice(0, 8)) : key, colour: colours[i] || null,
                  step: r.step, time: r.time, value: r.value};
        })};
      });
    }
    job.then(function (raw) {
      var entry = {el: el, raw: raw};
      mounted.push(entry);
      draw(el, raw);
    }).catch(function (err) {
      el.textContent = "could not load the chart: " + err.message;
    });
  }

  function redrawAll() {
    mounted.forEach(function (m) { if (m.el.isConnected) draw(m.el, m.raw); });
  }

  function setup() {
    var observer = "IntersectionObserver" in window ? new IntersectionObserver(function (entries) {
      entries.forEach(function (e) {
        if (e.isIntersecting) { observer.unobserve(e.target); load(e.target); }
      });
    }, {rootMargin: "200px"}) : null;
    document.querySelectorAll('.chart[data-lazy="visible"]').forEach(function (el) {
      if (observer) observer.observe(el); else load(el);
    });
    document.addEventListener("click", function (ev) {
      var button = ev.target.closest ? ev.target.closest(".chart-toggle") : null;
      if (!button) return;
      var row = document.getElementById(button.getAttribute("aria-controls"));
      var open = button.getAttribute("aria-expanded") !== "true";
      button.setAttribute("aria-expanded", open ? "true" : "false");
      button.firstChild.textContent = open ? "Hide chart" : "Show chart";
      row.hidden = !open;
      if (open) load(row.querySelector(".chart"));
    });
    ["x-axis", "smoothing", "log-scale"].forEach(function (id) {
      var el = document.getElementById(id);
      if (el) el.addEventListener("change", redrawAll);
    });
    document.querySelectorAll("input[data-filter-table]").forEach(function (input) {
      var table = document.getElementById(input.dataset.filterTable);
      input.addEventListener("input", function () {
        var text = input.value.toLowerCase();
        table.querySelectorAll("tr[data-metric]").forEach(function (tr) {
          var show = tr.dataset.metric.toLowerCase().indexOf(text) >= 0;
          tr.hidden = !show;
          var next = tr.nextElementSibling;
          if (!show && next && next.classList.contains("chart-row")) next.hidden = true;
        });
      });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setup);
  else setup();
})();
