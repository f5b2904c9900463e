// bankbot console: the copy button of the event page. Pinned in the binary
// (no CDN, no build step); the page works without it (the button stays
// hidden and the text can be selected by hand).
(function () {
  "use strict";
  function copy(text, target) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    // Plain http on another host: select the text and copy the selection.
    var range = document.createRange();
    range.selectNodeContents(target);
    var sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
    var ok = document.execCommand && document.execCommand("copy");
    return ok ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }
  var buttons = document.querySelectorAll("button[data-copy]");
  for (var i = 0; i < buttons.length; i++) {
    (function (b) {
      var target = document.getElementById(b.getAttribute("data-copy"));
      if (!target) { return; }
      b.hidden = false;
      b.addEventListener("click", function () {
        var label = b.textContent;
        copy(target.textContent, target).then(function () {
          b.textContent = b.getAttribute("data-done") || label;
          setTimeout(function () { b.textContent = label; }, 1500);
        }, function () {});
      });
    })(buttons[i]);
  }
})();
