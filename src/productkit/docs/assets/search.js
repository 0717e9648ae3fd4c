// Search over the catalogue's ids, titles (both languages) and parameters; the index is inline.
(function () {
  'use strict';
  var input = document.getElementById('q');
  var list = document.getElementById('results');
  var none = document.getElementById('none');
  var index = window.PK_INDEX || [];
  var lang = window.PK_LANG || 'en';
  function show(query) {
    var words = query.toLowerCase().split(/\s+/).filter(Boolean);
    list.replaceChildren();
    if (!words.length) { none.hidden = true; return; }
    var found = index.filter(function (item) {
      var text = [item.i, item.zh, item.en, item.x].join(' ').toLowerCase();
      return words.every(function (w) { return text.indexOf(w) >= 0; });
    });
    found.forEach(function (item) {
      var li = document.createElement('li');
      var a = document.createElement('a');
      a.href = item.u;
      a.textContent = (lang === 'en' ? item.en : item.zh) || item.i;
      var meta = document.createElement('span');
      meta.className = 'muted';
      meta.textContent = ' ' + item.k + ' · ' + item.i;
      li.append(a, meta);
      list.append(li);
    });
    none.hidden = found.length > 0;
  }
  var query = new URLSearchParams(window.location.search).get('q') || '';
  input.value = query;
  input.addEventListener('input', function () { show(input.value); });
  show(query);
})();
