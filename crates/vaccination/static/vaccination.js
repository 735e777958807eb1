// Observation timers (data-left: seconds) count down on the station and board pages; the queue
// board (data-events: the clinic's server-sent events) reloads when a station moves a child.
(function () {
  function show(el, left) {
    el.textContent = Math.floor(left / 60) + ":" + ("0" + (left % 60)).slice(-2);
    if (left === 0) el.classList.add("done");
  }
  document.querySelectorAll(".timer[data-left]").forEach(function (el) {
    var left = parseInt(el.getAttribute("data-left"), 10);
    setInterval(function () { left = Math.max(0, left - 1); show(el, left); }, 1000);
  });
  var board = document.querySelector("[data-events]");
  if (board && window.EventSource) {
    var es = new EventSource(board.getAttribute("data-events"));
    var reload = function () { location.reload(); };
    es.onmessage = reload;
    es.addEventListener(board.getAttribute("data-topic"), reload);
  }
})();
