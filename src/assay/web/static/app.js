// Keyboard shortcuts for the review pages. Keys act only when no text field has focus.
(function () {
  "use strict";
  function typing(target) {
    return target && (target.tagName === "INPUT" && target.type !== "radio" && target.type !== "checkbox"
      || target.tagName === "TEXTAREA" || target.tagName === "SELECT");
  }
  function follow(id) {
    var link = document.getElementById(id);
    if (link) { window.location.href = link.href; return true; }
    return false;
  }
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (typing(event.target)) {
      if (event.key === "Escape") event.target.blur();
      return;
    }
    var labelForm = document.getElementById("label-form");
    var voteForm = document.getElementById("vote-form");
    var key = event.key;
    if (key === "j" && (follow("next") || follow("next-pair"))) { event.preventDefault(); return; }
    if (key === "k" && follow("prev")) { event.preventDefault(); return; }
    if (labelForm) {
      if (key === "n") { event.preventDefault(); document.getElementById("note").focus(); return; }
      var radio = labelForm.querySelector('input[data-key="' + key + '"]');
      if (radio) {
        event.preventDefault();
        radio.checked = true;
        labelForm.requestSubmit();
        return;
      }
    }
    if (voteForm) {
      var button = voteForm.querySelector('button[data-key="' + key + '"]');
      if (button) { event.preventDefault(); voteForm.requestSubmit(button); }
    }
  });
})();
