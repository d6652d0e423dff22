// MedAgentGym report: sortable, filterable, searchable tables and the charts.
// Data comes only from the page itself (data-* attributes, written escaped); nothing is fetched
// and nothing is evaluated. A table opts in with class "data" and an id; its tools sit in an
// element with data-tools-for="<table id>": <select data-filter="status"> matches a row's
// data-status, <input data-search> matches a row's data-search text, [data-shown] shows the count.
(function () {
  'use strict';

  function cellKey(row, column, numeric) {
    var cell = row.cells[column];
    if (!cell) { return numeric ? -Infinity : ''; }
    var raw = cell.hasAttribute('data-value') ? cell.getAttribute('data-value') : cell.textContent;
    if (!numeric) { return raw.trim().toLowerCase(); }
    var number = parseFloat(raw);
    return isNaN(number) ? -Infinity : number;
  }

  function sortBy(table, header) {
    var column = header.cellIndex;
    var numeric = header.getAttribute('data-sort') === 'number';
    var ascending = header.getAttribute('aria-sort') !== 'ascending';
    table.querySelectorAll('th[data-sort]').forEach(function (th) { th.removeAttribute('aria-sort'); });
    header.setAttribute('aria-sort', ascending ? 'ascending' : 'descending');
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.forEach(function (row, index) { row._order = index; });
    rows.sort(function (a, b) {
      var x = cellKey(a, column, numeric);
      var y = cellKey(b, column, numeric);
      if (x < y) { return ascending ? -1 : 1; }
      if (x > y) { return ascending ? 1 : -1; }
      return a._order - b._order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }

  function applyTools(table, tools) {
    var wanted = {};
    tools.querySelectorAll('select[data-filter]').forEach(function (s) { wanted[s.getAttribute('data-filter')] = s.value; });
    var search = tools.querySelector('input[data-search]');
    var words = search ? search.value.trim().toLowerCase().split(/\s+/).filter(Boolean) : [];
    var shown = 0;
    Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
      var keep = Object.keys(wanted).every(function (key) {
        return !wanted[key] || row.getAttribute('data-' + key) === wanted[key];
      });
      if (keep && words.length) {
        var text = (row.getAttribute('data-search') || '').toLowerCase();
        keep = words.every(function (word) { return text.indexOf(word) !== -1; });
      }
      row.hidden = !keep;
      if (keep) { shown += 1; }
    });
    var count = tools.querySelector('[data-shown]');
    if (count) { count.textContent = String(shown); }
  }

  function toolsToHash(tools) {
    var parts = [];
    tools.querySelectorAll('select[data-filter]').forEach(function (s) {
      if (s.value) { parts.push(encodeURIComponent(s.getAttribute('data-filter')) + '=' + encodeURIComponent(s.value)); }
    });
    var search = tools.querySelector('input[data-search]');
    if (search && search.value) { parts.push('q=' + encodeURIComponent(search.value)); }
    history.replaceState(null, '', parts.length ? '#' + parts.join('&') : location.pathname);
  }

  function hashToTools(tools) {
    // e.g. index.html#status=max_turns&success=no&q=bmi (a link to a filtered view)
    location.hash.replace(/^#/, '').split('&').forEach(function (pair) {
      var kv = pair.split('=');
      if (kv.length !== 2) { return; }
      var key = decodeURIComponent(kv[0]);
      var value = decodeURIComponent(kv[1]);
      if (key === 'q') {
        var search = tools.querySelector('input[data-search]');
        if (search) { search.value = value; }
        return;
      }
      tools.querySelectorAll('select[data-filter]').forEach(function (s) {
        if (s.getAttribute('data-filter') === key) { s.value = value; }
      });
    });
  }

  function setUpTable(table) {
    table.querySelectorAll('th[data-sort]').forEach(function (th) {
      th.tabIndex = 0;
      th.addEventListener('click', function () { sortBy(table, th); });
      th.addEventListener('keydown', function (event) { if (event.key === 'Enter') { sortBy(table, th); } });
    });
    var tools = document.querySelector('[data-tools-for="' + table.id + '"]');
    if (!tools) { return; }
    var update = function () { applyTools(table, tools); toolsToHash(tools); };
    tools.querySelectorAll('select[data-filter]').forEach(function (s) { s.addEventListener('change', update); });
    var search = tools.querySelector('input[data-search]');
    if (search) { search.addEventListener('input', update); }
    hashToTools(tools);
    applyTools(table, tools);
  }

  function drawCharts() {
    if (typeof window.Plotly === 'undefined') { return; }
    document.querySelectorAll('div.plot[data-figure]').forEach(function (div) {
      var figure = JSON.parse(div.getAttribute('data-figure'));
      window.Plotly.newPlot(div, figure.data, figure.layout, { responsive: true, displaylogo: false });
    });
  }

  document.querySelectorAll('table.data[id]').forEach(setUpTable);
  drawCharts();
}());
