// The agent's console asks every 3 s whether a transferred call was answered by this agent (the screen-pop) and,
// when one was, opens the caller's page. A page opened for that call does not open it again.
(function () {
  "use strict";
  var box = document.getElementById("pop");
  if (!box || !box.dataset.poll) { return; }
  var here = new URLSearchParams(window.location.search).get("call");
  var after = Number(window.sessionStorage.getItem("urja.pop") || 0);
  function ask() {
    fetch(box.dataset.poll + "?after=" + after, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : { pop: null }; })
      .then(function (body) {
        var pop = body && body.pop;
        if (!pop) { return; }
        after = pop.id;
        window.sessionStorage.setItem("urja.pop", String(after));
        if (String(pop.call_id) === here) { return; }
        window.location.assign(pop.url);
      })
      .catch(function () { /* the next try will do */ });
  }
  ask();
  window.setInterval(ask, 3000);
})();
