// The alertd console's script: live updates and small conveniences. Every page works without
// it. Loaded from a file (the Content-Security-Policy allows no inline script).
//
// A page that shows alerts sets data-stream on <body>: the URL of the console's alert stream,
// starting at the cursor the page was rendered at. Each element with data-live="URL" is fetched
// again from that URL (HTML made by the server, escaped there) when an alert changes; with
// data-live-alert="ID", only when that alert changes. The browser's EventSource reconnects by
// itself and resumes with Last-Event-ID, so nothing is missed while it was away.
"use strict";

(function () {
  function refresh(element) {
    if (element.dataset.loading) {
      element.dataset.again = "1"; // a change came while fetching: fetch once more after
      return;
    }
    element.dataset.loading = "1";
    var before = {};
    element.querySelectorAll("[data-id]").forEach(function (row) { before[row.dataset.id] = true; });
    fetch(element.dataset.live, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (response.redirected || !response.ok) { throw new Error("status " + response.status); }
        return response.text();
      })
      .then(function (html) {
        var focused = document.activeElement && element.contains(document.activeElement)
          ? document.activeElement.getAttribute("href") : null;
        element.innerHTML = html;
        element.querySelectorAll("[data-id]").forEach(function (row) {
          if (!before[row.dataset.id]) { row.classList.add("new"); }
        });
        if (focused) {
          var again = element.querySelector('a[href="' + focused + '"]');
          if (again) { again.focus(); }
        }
      })
      .catch(function () { status("Could not refresh; reload the page."); })
      .finally(function () {
        delete element.dataset.loading;
        if (element.dataset.again) {
          delete element.dataset.again;
          refresh(element);
        }
      });
  }

  function status(text) {
    document.querySelectorAll("[data-live-status]").forEach(function (element) {
      element.textContent = text;
    });
  }

  function follow(url) {
    if (!window.EventSource) { return; }
    var source = new EventSource(url);
    source.addEventListener("ready", function () { status("Live"); });
    source.addEventListener("alert", function (message) {
      var change = JSON.parse(message.data);
      document.querySelectorAll("[data-live]").forEach(function (element) {
        var only = element.dataset.liveAlert;
        if (!only || only === change.alert.id) { refresh(element); }
      });
    });
    source.addEventListener("error", function () {
      status(source.readyState === EventSource.CLOSED ? "Not live; reload the page." : "Reconnecting…");
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var stream = document.body.dataset.stream;
    if (stream) { follow(stream); }
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
  });
})();
