// Client-side search over the prebuilt index in search-index.js: no server, no network.
(function () {
  "use strict";
  var index = window.TOPICGEN_SEARCH || [];
  var root = document.querySelector(".site-home").getAttribute("href").replace(/index\.html$/, "");
  var input = document.getElementById("search-input");
  var box = document.getElementById("search-results");

  function words(text) {
    return text.toLowerCase().split(/[^a-z0-9]+/).filter(function (w) { return w.length > 1; });
  }

  function search(query) {
    var terms = words(query);
    if (!terms.length) return [];
    return index.map(function (entry) {
      var title = entry.title.toLowerCase(), text = entry.text.toLowerCase(), score = 0;
      for (var i = 0; i < terms.length; i++) {
        if (text.indexOf(terms[i]) < 0 && title.indexOf(terms[i]) < 0) return null;
        score += (title.indexOf(terms[i]) >= 0 ? 10 : 0) + text.split(terms[i]).length - 1;
      }
      if (text.indexOf(terms.join(" ")) >= 0) score += 20;  // the words as a phrase
      return {entry: entry, score: score};
    }).filter(Boolean).sort(function (a, b) { return b.score - a.score; }).slice(0, 20);
  }

  function snippet(text, query) {
    var at = Math.max(text.toLowerCase().indexOf(words(query)[0]), 0);
    return (at > 60 ? "…" : "") + text.slice(Math.max(at - 60, 0), at + 140) + "…";
  }

  function show(query) {
    box.textContent = "";
    if (!query.trim()) { box.hidden = true; return; }
    var hits = search(query);
    var heading = document.createElement("p");
    heading.textContent = hits.length + (hits.length === 1 ? " result" : " results") + " for “" + query + "”";
    box.appendChild(heading);
    var list = document.createElement("ol");
    hits.forEach(function (hit) {
      var item = document.createElement("li"), link = document.createElement("a"), note = document.createElement("p");
      link.href = root + hit.entry.url;
      link.textContent = hit.entry.title;
      note.className = "snippet";
      note.textContent = hit.entry.page + ": " + snippet(hit.entry.text, query);
      item.appendChild(link);
      item.appendChild(note);
      list.appendChild(item);
    });
    box.appendChild(list);
    box.hidden = false;
  }

  input.form.addEventListener("submit", function (event) { event.preventDefault(); show(input.value); });
  input.addEventListener("input", function () { show(input.value); });
  var initial = new URLSearchParams(window.location.search).get("q");
  if (initial) { input.value = initial; show(initial); }
})();
