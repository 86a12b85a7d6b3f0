// The header menu on narrow screens: a disclosure button (WAI-ARIA APG). Without JavaScript the
// navigation simply stays visible, so every page still works.
// Also: browsers skip ``autofocus`` on a page opened at an anchor (#sign after signing in again);
// the field the page asks to focus (a kept sign form's password, a field in error) gets it anyway.
document.documentElement.classList.add("js");
window.addEventListener("load", function () {  // after the browser scrolled to the anchor (which drops focus)
  var wanted = document.querySelector("main [autofocus]");
  if (wanted && document.activeElement !== wanted) {
    window.setTimeout(function () { wanted.focus({ preventScroll: true }); }, 0);
  }
});
document.addEventListener("DOMContentLoaded", function () {
  var button = document.querySelector(".menu-button");
  var menu = document.getElementById("main-nav");
  if (!button || !menu) { return; }
  button.hidden = false;
  button.addEventListener("click", function () {
    var open = button.getAttribute("aria-expanded") === "true";
    button.setAttribute("aria-expanded", open ? "false" : "true");
    menu.classList.toggle("open", !open);
  });
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && button.getAttribute("aria-expanded") === "true") {
      button.setAttribute("aria-expanded", "false");
      menu.classList.remove("open");
      button.focus();
    }
  });
});
