// Manual entry at a timing point: type a bib, Enter; the server stamps the read.
// Each entry carries an id made here, so a retry after a lost answer stores it once.
(function () {
  "use strict";
  var form = document.getElementById("manual-form");
  var bib = document.getElementById("manual-bib");
  var time = document.getElementById("manual-time");
  var status = document.getElementById("manual-status");
  var tbody = document.querySelector("#manual-reads tbody");
  var csrf = form.querySelector("[name=csrfmiddlewaretoken]").value;
  var pending = null; // {bib, time, id} not yet answered: resent as is

  function newId() {
    var bytes = new Uint8Array(12);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  function say(text, isError) {
    status.textContent = text;
    status.className = isError ? "error" : "";
  }

  function cell(row, text) {
    var td = document.createElement("td");
    td.textContent = text;
    row.appendChild(td);
    return td;
  }

  function show(reads) {
    tbody.textContent = "";
    reads.forEach(function (read) {
      var row = document.createElement("tr");
      cell(row, read.time);
      cell(row, read.bib);
      cell(row, read.athlete || "no entry yet");
      cell(row, read.source);
      var td = cell(row, "");
      if (read.undo) {
        var button = document.createElement("button");
        button.type = "button";
        button.textContent = "Undo";
        button.className = "undo";
        button.dataset.pk = read.pk;
        button.setAttribute("aria-label", "Undo the read of bib " + read.bib + " at " + read.time);
        td.appendChild(button);
      }
      tbody.appendChild(row);
    });
  }

  function send(body) {
    return fetch(form.dataset.url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body),
    }).then(function (response) {
      return response.json().then(function (data) {
        if (data.reads) show(data.reads);
        return { ok: response.ok, data: data };
      });
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var typed = bib.value.trim();
    if (!typed) return;
    if (!pending || pending.bib !== typed || pending.time !== time.value.trim()) {
      pending = { bib: typed, time: time.value.trim(), id: newId() };
    }
    var sent = pending;
    say("Sending " + typed + "…", false);
    send(sent).then(function (answer) {
      if (answer.ok) {
        pending = null;
        say("Stored: " + sent.bib + (sent.time ? " at " + sent.time : ""), false);
        bib.value = "";
        time.value = "";
      } else {
        pending = null;
        say(answer.data.error || "Not stored.", true);
        bib.select();
      }
      bib.focus();
    }).catch(function () {
      say("Not sent (network): press Enter to send " + typed + " again.", true);
      bib.focus();
    });
  });

  function undo(pk) {
    send({ undo: pk }).then(function (answer) {
      say(answer.ok ? "Undone." : (answer.data.error || "Not undone."), !answer.ok);
      bib.focus();
    }).catch(function () {
      say("Not sent (network): undo again.", true);
    });
  }

  tbody.addEventListener("click", function (event) {
    var button = event.target.closest("button.undo");
    if (button) undo(Number(button.dataset.pk));
  });

  document.addEventListener("keydown", function (event) {
    if ((event.ctrlKey || event.metaKey) && event.key === "z" && !bib.value && document.activeElement !== time) {
      var last = tbody.querySelector("button.undo");
      if (last) {
        event.preventDefault();
        undo(Number(last.dataset.pk));
      }
    }
  });

  show(JSON.parse(document.getElementById("manual-initial").textContent));
  bib.focus();
})();
