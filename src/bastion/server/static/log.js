// Follows a job's log live (Server-Sent Events); served from this server, CSP 'self'.
// Lines are appended as text nodes: nothing from the log is ever parsed as HTML.
"use strict";
(function () {
  const pre = document.getElementById("log");
  const note = document.getElementById("log-note");
  const state = document.getElementById("log-state");
  if (!pre || !pre.dataset.stream) {
    return;
  }
  const url = pre.dataset.stream + "?after=" + encodeURIComponent(pre.dataset.after || "0");
  const source = new EventSource(url);
  source.onmessage = function (event) {
    pre.appendChild(document.createTextNode(JSON.parse(event.data) + "\n"));
    if (window.innerHeight + window.scrollY >= document.body.scrollHeight - 80) {
      window.scrollTo(0, document.body.scrollHeight);
    }
  };
  source.addEventListener("end", function (event) {
    source.close();
    const status = JSON.parse(event.data);
    if (state) {
      state.textContent = status;
      state.className = "state state-" + status;
    }
    if (note) {
      note.textContent = "The job has ended (" + status + ").";
    }
  });
})();
