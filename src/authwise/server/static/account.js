// The account page: end sessions. Every unsafe request carries the anti-forgery token.
"use strict";
(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const status = document.getElementById("status");
  async function send(method, url) {
    const response = await fetch(url, { method, headers: { "X-CSRF-Token": csrf }, credentials: "same-origin" });
    if (!response.ok) {
      status.textContent = "That did not work (" + response.status + ").";
      return false;
    }
    return true;
  }
  document.querySelectorAll(".end-session").forEach(function (button) {
    button.addEventListener("click", async function () {
      if (await send("DELETE", "/sessions/" + encodeURIComponent(button.dataset.handle))) {
        button.closest("tr").remove();
      }
    });
  });
  document.getElementById("logout-others").addEventListener("click", async function () {
    if (await send("DELETE", "/sessions?keep_current=true")) location.reload();
  });
  document.getElementById("logout-everywhere").addEventListener("click", async function () {
    if (await send("DELETE", "/sessions")) location.assign("/login");
  });
  document.getElementById("logout").addEventListener("click", async function () {
    if (await send("DELETE", "/session")) location.assign("/login");
  });
})();
