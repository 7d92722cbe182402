// Weir dashboard behaviour. Loaded with defer from every page; the CSP
// allows no inline script and no eval, so everything is wired here:
// local times, uPlot charts, htmx re-initialisation, keyboard shortcuts
// and copy buttons. Pages work without it (times in UTC, tables under
// each chart).
(function () {
  "use strict";

  // all returns the elements under root (root included) matching sel.
  function all(root, sel) {
    var out = Array.prototype.slice.call(root.querySelectorAll ? root.querySelectorAll(sel) : []);
    if (root.matches && root.matches(sel)) out.unshift(root);
    return out;
  }

  // ---- Times: <time datetime> in the viewer's time zone. ----------------

  var dateFmt = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "short", day: "numeric",
    hour: "2-digit", minute: "2-digit", second: "2-digit",
  });

  var timeOnly = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  var sameYear = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" });

  // shortFmt is the format of a time in a table: the clock alone today,
  // without the year this year.
  function shortFmt(d) {
    var n = new Date();
    if (d.getFullYear() !== n.getFullYear()) return dateFmt;
    if (d.getMonth() === n.getMonth() && d.getDate() === n.getDate()) return timeOnly;
    return sameYear;
  }

  function localTimes(root) {
    all(root, "time[datetime]").forEach(function (el) {
      if (el.dataset.local) return;
      var d = new Date(el.getAttribute("datetime"));
      if (isNaN(d.getTime())) return;
      el.title = el.textContent.trim(); // the UTC text the server wrote
      el.textContent = (el.closest("table") ? shortFmt(d) : dateFmt).format(d);
      el.dataset.local = "1";
    });
    // Filter forms send the viewer's zone, in which typed days are read.
    var tz = "";
    try { tz = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { /* old browser */ }
    all(root, "input[data-tz]").forEach(function (el) {
      if (!el.value && tz) el.value = tz;
    });
  }

  // ---- Charts -------------------------------------------------------------
  //
  // <div data-chart='{"t":[unix s],"series":[{"label":"Spend","values":[…],"unit":"usd"}],
  //                   "markers":[{"t":unix s,"label":"v2"}]}'>
  // Units: usd (dollars), ms, count, percent (a fraction: 0.05 is 5 %).
  // data-sparkline (with the same JSON, or as a flag beside data-chart)
  // draws a tiny chart without axes, legend or cursor.

  var palette = ["#1f77b4", "#d6672b", "#2ca02c", "#9467bd", "#c2185b", "#17becf", "#8c564b", "#7f7f7f"];

  function numFmt(opts) { return new Intl.NumberFormat(undefined, opts); }
  var compact = numFmt({ notation: "compact", maximumFractionDigits: 1 });
  var whole = numFmt({ maximumFractionDigits: 0 });

  function formatter(unit) {
    switch (unit) {
      case "usd":
        return function (v) {
          if (v == null) return "—";
          var a = Math.abs(v);
          var places = a >= 100 ? 0 : a >= 1 ? 2 : a >= 0.01 ? 4 : a === 0 ? 0 : 6;
          return "$" + numFmt({ minimumFractionDigits: places, maximumFractionDigits: places }).format(v);
        };
      case "ms":
        return function (v) {
          if (v == null) return "—";
          var a = Math.abs(v);
          if (a === 0) return "0 ms";
          if (a < 10) return v.toFixed(1) + " ms";
          if (a < 1000) return Math.round(v) + " ms";
          if (a < 60000) return (v / 1000).toFixed(2) + " s";
          return (v / 60000).toFixed(1) + " min";
        };
      case "percent":
        return function (v) { return v == null ? "—" : v === 0 ? "0 %" : (v * 100).toFixed(Math.abs(v) < 0.1 ? 2 : 1) + " %"; };
      default:
        return function (v) { return v == null ? "—" : Math.abs(v) >= 10000 ? compact.format(v) : whole.format(v); };
    }
  }

  // parseSpec reads a chart's JSON, accepting the overview's first shape
  // {"t":[…],"usd":[…]} too.
  function parseSpec(text) {
    var s;
    try { s = JSON.parse(text); } catch (e) { return null; }
    if (!s || !Array.isArray(s.t)) return null;
    if (!s.series && Array.isArray(s.usd)) s.series = [{ label: "Spend", values: s.usd, unit: "usd" }];
    if (!Array.isArray(s.series) || s.series.length === 0) return null;
    return s;
  }

  function cssColor(name, fallback) {
    var v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return v || fallback;
  }

  var charts = new Set();

  function makeChart(el, spec, spark) {
    if (typeof uPlot === "undefined") return;
    var fg = cssColor("--muted", "#5f6670");
    var grid = cssColor("--line", "#dde0e4");
    var units = [];
    spec.series.forEach(function (s) {
      var u = s.unit || "count";
      if (units.indexOf(u) < 0) units.push(u);
    });
    var series = [{ label: "Time", value: function (u, v) { return v == null ? "—" : dateFmt.format(new Date(v * 1000)); } }];
    var data = [spec.t];
    // "stacked": each series is drawn on top of the ones before it (the
    // legend still shows its own value); a null counts as 0.
    var stacked = !!spec.stacked && spec.series.length > 1;
    var sums = spec.t.map(function () { return 0; });
    var bands = [];
    spec.series.forEach(function (s, i) {
      var unit = s.unit || "count";
      var fmt = formatter(unit);
      var color = s.color || palette[i % palette.length];
      var own = s.values;
      if (stacked) {
        data.push(own.map(function (v, j) { sums[j] += v == null ? 0 : +v; return sums[j]; }));
        if (i > 0) bands.push({ series: [i + 1, i] });
      } else {
        data.push(own);
      }
      series.push({
        label: s.label || "series " + (i + 1),
        scale: unit,
        stroke: color,
        width: spark ? 1.5 : 2,
        fill: stacked ? color + "55" : spec.series.length === 1 ? color + "22" : undefined,
        // Points make lone values (between gaps) visible on short series.
        points: { show: !spark && spec.t.length <= 60, size: 5 },
        spanGaps: false,
        value: function (u, v, si, idx) { return fmt(idx == null ? v : own[idx]); },
      });
    });
    var scales = { x: { time: true } };
    var axes = [];
    if (spark) {
      axes = [{ show: false }];
      units.forEach(function (u) { axes.push({ scale: u, show: false }); scales[u] = { auto: true }; });
    } else {
      axes = [{ stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid } }];
      units.forEach(function (u, i) {
        var fmt = formatter(u);
        scales[u] = { auto: true, range: function (self, min, max) { return [Math.min(0, min), max > 0 ? max * 1.1 : 1]; } };
        axes.push({
          scale: u, side: i === 0 ? 3 : 1, stroke: fg,
          grid: { show: i === 0, stroke: grid, width: 1 }, ticks: { stroke: grid },
          size: 70,
          values: function (self, splits) { return splits.map(fmt); },
        });
      });
    }
    var markers = Array.isArray(spec.markers) ? spec.markers : [];
    var height = spark ? (el.clientHeight || 28) : (spec.height || 240);
    var opts = {
      width: Math.max(el.clientWidth, 100),
      height: height,
      series: series,
      bands: bands,
      scales: scales,
      axes: axes,
      legend: { show: !spark },
      cursor: spark ? { show: false } : { drag: { x: true, y: false } },
      padding: spark ? [2, 2, 2, 2] : undefined,
      hooks: {
        draw: [function (u) {
          if (!markers.length) return;
          var ctx = u.ctx;
          var top = u.bbox.top, bottom = u.bbox.top + u.bbox.height;
          ctx.save();
          ctx.strokeStyle = cssColor("--accent", "#1f5fbf");
          ctx.fillStyle = ctx.strokeStyle;
          ctx.lineWidth = Math.max(1, devicePixelRatio);
          ctx.setLineDash([4 * devicePixelRatio, 3 * devicePixelRatio]);
          ctx.font = (11 * devicePixelRatio) + "px system-ui, sans-serif";
          ctx.textBaseline = "top";
          markers.forEach(function (m) {
            var x = Math.round(u.valToPos(m.t, "x", true));
            if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) return;
            ctx.beginPath();
            ctx.moveTo(x, top);
            ctx.lineTo(x, bottom);
            ctx.stroke();
            if (!spark && m.label) ctx.fillText(m.label, x + 3 * devicePixelRatio, top + 2 * devicePixelRatio);
          });
          ctx.restore();
        }],
      },
    };
    var plot = new uPlot(opts, data, el);
    charts.add(plot);
    if (typeof ResizeObserver !== "undefined") {
      var ro = new ResizeObserver(function () {
        if (!el.isConnected) { ro.disconnect(); plot.destroy(); charts.delete(plot); return; }
        var w = Math.max(el.clientWidth, 100);
        if (w !== plot.width) plot.setSize({ width: w, height: height });
      });
      ro.observe(el);
    }
  }

  function initCharts(root) {
    all(root, "[data-chart], [data-sparkline]").forEach(function (el) {
      if (el.dataset.drawn) return;
      var spark = el.hasAttribute("data-sparkline");
      var text = el.getAttribute("data-chart") || el.getAttribute("data-sparkline");
      var spec = parseSpec(text);
      if (!spec) return;
      el.dataset.drawn = "1";
      makeChart(el, spec, spark);
    });
  }

  // ---- Copy buttons -------------------------------------------------------

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    return new Promise(function (resolve, reject) {
      var ta = document.createElement("textarea");
      ta.value = text;
      ta.setAttribute("readonly", "");
      ta.className = "sr";
      document.body.appendChild(ta);
      ta.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { /* refused */ }
      ta.remove();
      if (ok) { resolve(); } else { reject(new Error("copy refused")); }
    });
  }

  document.addEventListener("click", function (e) {
    var b = e.target.closest && e.target.closest("[data-copy]");
    if (!b) return;
    e.preventDefault();
    copyText(b.getAttribute("data-copy")).then(function () {
      say(b, "Copied");
    }, function () {
      say(b, "Copy failed: select the text instead");
    });
  });

  function say(after, text) {
    var s = after.nextElementSibling;
    if (!s || !s.classList.contains("copied")) {
      s = document.createElement("span");
      s.className = "copied";
      s.setAttribute("role", "status");
      after.after(s);
    }
    s.textContent = text;
    setTimeout(function () { s.textContent = ""; }, 2000);
  }

  // ---- Keyboard -----------------------------------------------------------

  var help = [
    ["/", "focus the first filter"],
    ["j / k", "next / previous row of a table"],
    ["Enter", "open the focused row"],
    ["g o", "go to the overview"],
    ["g c", "go to the calls"],
    ["?", "show this help"],
    ["Esc", "close this help"],
  ];
  var dialog = null;

  function showHelp() {
    if (!dialog) {
      dialog = document.createElement("dialog");
      dialog.className = "keys";
      dialog.setAttribute("aria-labelledby", "keys-h");
      var h = document.createElement("h2");
      h.id = "keys-h";
      h.textContent = "Keyboard shortcuts";
      var dl = document.createElement("dl");
      help.forEach(function (row) {
        var dt = document.createElement("dt");
        row[0].split(" ").forEach(function (k, i) {
          if (k === "/" && row[0] === "j / k") { dt.append(" / "); return; }
          if (i > 0 && row[0] !== "j / k") dt.append(" then ");
          var kbd = document.createElement("kbd");
          kbd.textContent = k;
          dt.append(kbd);
        });
        var dd = document.createElement("dd");
        dd.textContent = row[1];
        dl.append(dt, dd);
      });
      var close = document.createElement("button");
      close.type = "button";
      close.textContent = "Close";
      close.addEventListener("click", function () { dialog.close(); });
      dialog.append(h, dl, close);
      document.body.append(dialog);
    }
    if (!dialog.open) dialog.showModal();
  }

  function rowLinks() {
    var out = [];
    document.querySelectorAll("main table tbody tr").forEach(function (tr) {
      var a = tr.querySelector("td a[href], th a[href]");
      if (a) out.push(a);
    });
    return out;
  }

  function moveRow(step) {
    var links = rowLinks();
    if (!links.length) return;
    var cur = -1;
    var row = document.activeElement && document.activeElement.closest && document.activeElement.closest("tr");
    if (row) links.forEach(function (a, i) { if (a.closest("tr") === row) cur = i; });
    var next = cur < 0 ? (step > 0 ? 0 : links.length - 1) : Math.min(links.length - 1, Math.max(0, cur + step));
    links[next].focus();
    links[next].closest("tr").scrollIntoView({ block: "nearest" });
  }

  var pendingG = 0;

  document.addEventListener("keydown", function (e) {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey) return;
    var t = e.target;
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) {
      if (e.key === "Escape" && t.blur) t.blur();
      return;
    }
    if (dialog && dialog.open) return;
    var now = Date.now();
    if (pendingG && now - pendingG < 1500) {
      pendingG = 0;
      if (e.key === "o") { e.preventDefault(); location.href = "/ui/"; return; }
      if (e.key === "c") { e.preventDefault(); location.href = "/ui/calls"; return; }
    }
    pendingG = 0;
    switch (e.key) {
      case "/": {
        var f = document.querySelector("main form input:not([type=hidden]), main form select");
        if (f) { e.preventDefault(); f.focus(); if (f.select) f.select(); }
        break;
      }
      case "j": e.preventDefault(); moveRow(1); break;
      case "k": e.preventDefault(); moveRow(-1); break;
      case "g": pendingG = now; break;
      case "?": e.preventDefault(); showHelp(); break;
    }
  });

  // ---- Start, and again on every htmx swap --------------------------------

  function init(root) {
    localTimes(root);
    initCharts(root);
  }

  function start() {
    init(document);
    // htmx:load fires for every element htmx adds (after a swap).
    document.body.addEventListener("htmx:load", function (e) { init(e.detail && e.detail.elt ? e.detail.elt : document); });
    document.body.addEventListener("htmx:afterSwap", function (e) { init(e.detail && e.detail.target ? e.detail.target : document); });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();

// ---- Review queue: keyboard scoring (internal/dashboard/review.go) --------
// On the review screen (#review-task): digits and y/n pick the focused
// criterion's value and move on, Tab or the up/down arrows move between
// criteria, c focuses the comment, Enter submits, s skips, Esc leaves a
// field. Runs in the capture phase so the page-wide keys above do not see
// the keys it handles.
(function () {
  function task() { return document.getElementById("review-task"); }

  function criteria(root) { return Array.prototype.slice.call(root.querySelectorAll("fieldset.criterion")); }

  function current(root) {
    var a = document.activeElement;
    var f = a && a.closest ? a.closest("fieldset.criterion") : null;
    if (f && root.contains(f)) return f;
    var all = criteria(root);
    for (var i = 0; i < all.length; i++) {
      if (!all[i].querySelector("input:checked")) return all[i];
    }
    return all[0] || null;
  }

  function focusCriterion(f) {
    if (!f) return;
    var el = f.querySelector("input:checked") || f.querySelector("input:not([type=hidden])");
    if (el) el.focus();
  }

  function move(root, step) {
    var all = criteria(root);
    var i = all.indexOf(current(root));
    var n = Math.min(all.length - 1, Math.max(0, i + step));
    focusCriterion(all[n]);
  }

  function pick(root, key) {
    var f = current(root);
    if (!f) return false;
    var r = f.querySelector('input[type=radio][data-key="' + key + '"]');
    if (!r) return false;
    r.checked = true;
    var all = criteria(root);
    var i = all.indexOf(f);
    if (i + 1 < all.length) focusCriterion(all[i + 1]);
    else {
      var s = root.querySelector("#review-form button[type=submit]");
      if (s) s.focus();
    }
    return true;
  }

  // renew extends the item's ten-minute lock while the reviewer works on
  // it, at most once a minute.
  var renewed = { url: "", at: 0 };
  function renew(form) {
    var url = form.getAttribute("data-renew");
    var now = Date.now();
    if (!url || (renewed.url === url && now - renewed.at < 60000)) return;
    if (renewed.url !== url) { renewed.url = url; renewed.at = now; return; } // opening it just locked it
    renewed.at = now;
    var csrf = form.querySelector("input[name=csrf]");
    fetch(url, { method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": csrf ? csrf.value : "" } }).catch(function () {});
  }

  // submit sends a form through htmx, making sure htmx has taken a form
  // that was just swapped in (a fast typist beats its settling).
  function submit(form) {
    if (window.htmx && window.htmx.process) window.htmx.process(form);
    form.requestSubmit();
  }

  document.addEventListener("keydown", function (e) {
    var root = task();
    if (!root || e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented) return;
    var form = root.querySelector("#review-form");
    if (!form) return;
    renew(form);
    var t = e.target;
    // Keys typed on the rest of the page (the navigation, a link) are theirs.
    if (t && t !== document.body && t.id !== "main" && !root.contains(t)) return;
    var typing = t && (t.isContentEditable || t.tagName === "TEXTAREA" || (t.tagName === "INPUT" && t.type !== "radio") || t.tagName === "SELECT");
    if (e.key === "Enter") {
      var skip = t && t.closest ? t.closest("#review-skip") : null;
      e.preventDefault();
      submit(skip || form);
      return;
    }
    if (typing) return;
    switch (e.key) {
      case "ArrowDown": e.preventDefault(); move(root, 1); return;
      case "ArrowUp": e.preventDefault(); move(root, -1); return;
      case "c": {
        var c = root.querySelector("#review-comment");
        if (c) { e.preventDefault(); c.focus(); }
        return;
      }
      case "s": {
        var sk = root.querySelector("#review-skip");
        if (sk) { e.preventDefault(); submit(sk); }
        return;
      }
    }
    if (e.key.length === 1 && pick(root, e.key.toLowerCase())) e.preventDefault();
  }, true);

  function start() {
    var root = task();
    if (root) focusCriterion(criteria(root)[0]);
    // Focus the new item's first criterion as soon as it is in the page
    // (and again after htmx settles, unless a criterion has the focus).
    function focusNew() {
      var r = task();
      var a = document.activeElement;
      if (r && !(a && a.closest && a.closest("fieldset.criterion") && r.contains(a))) focusCriterion(criteria(r)[0]);
    }
    document.body.addEventListener("htmx:afterSwap", focusNew);
    document.body.addEventListener("htmx:afterSettle", focusNew);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
// ---- end of the review queue block ----------------------------------------
