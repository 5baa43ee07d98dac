// The password page: sends the change as JSON with the anti-forgery token.
"use strict";
(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const form = document.getElementById("password-form");
  const status = document.getElementById("status");
  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    const fields = new FormData(form);
    if (fields.get("new_password") !== fields.get("confirm_password")) {
      status.textContent = "The new passwords differ.";
      return;
    }
    const response = await fetch("/account/password", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({
        current_password: fields.get("current_password"),
        new_password: fields.get("new_password"),
      }),
    });
    let body = {};
    try { body = await response.json(); } catch (e) { /* not JSON: keep the generic text */ }
    if (response.ok) {
      form.reset();
      status.textContent = "Password changed. Signed out " + body.sessions + " other session(s).";
    } else {
      status.textContent = body.error_description || "That did not work (" + response.status + ").";
    }
  });
})();
