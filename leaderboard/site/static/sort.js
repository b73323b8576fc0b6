/* medlt-bench leaderboard: sort any table.sortable by a header click (no dependencies). */
(function () {
  "use strict";

  function key(row, index, type) {
    var cell = row.cells[index];
    if (!cell) { return null; }
    var raw = cell.getAttribute("data-value");
    if (raw === null) { raw = cell.textContent; }
    raw = raw.trim();
    if (raw === "") { return null; }
    if (type === "text") { return raw.toLowerCase(); }
    var n = parseFloat(raw);
    return isNaN(n) ? raw.toLowerCase() : n;
  }

  function sortBy(table, th) {
    var index = parseInt(th.getAttribute("data-sort-index"), 10);
    var type = th.getAttribute("data-sort-type") || "number";
    var current = th.getAttribute("aria-sort");
    // first click: best first (high MCR, low rank, A-Z); next clicks toggle
    var first = (type === "number") ? "descending" : "ascending";
    var order = current === null || current === "none" ? first : (current === "ascending" ? "descending" : "ascending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var keyed = rows.map(function (row, i) { return { row: row, key: key(row, index, type), i: i }; });
    var sign = order === "ascending" ? 1 : -1;
    keyed.sort(function (a, b) {
      if (a.key === null && b.key === null) { return a.i - b.i; }
      if (a.key === null) { return 1; }            // missing values last, whatever the order
      if (b.key === null) { return -1; }
      if (a.key < b.key) { return -sign; }
      if (a.key > b.key) { return sign; }
      return a.i - b.i;                             // stable
    });
    keyed.forEach(function (k) { body.appendChild(k.row); });
    var headers = table.querySelectorAll("th[data-sort-index]");
    Array.prototype.forEach.call(headers, function (h) { h.setAttribute("aria-sort", "none"); });
    th.setAttribute("aria-sort", order);
  }

  function init() {
    var tables = document.querySelectorAll("table.sortable");
    Array.prototype.forEach.call(tables, function (table) {
      var headers = table.querySelectorAll("th[data-sort-index]");
      Array.prototype.forEach.call(headers, function (th) {
        // a header the page was built sorted by keeps its state; the others start unsorted
        if (!th.hasAttribute("aria-sort")) { th.setAttribute("aria-sort", "none"); }
        th.addEventListener("click", function () { sortBy(table, th); });
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
}());
