// The admin page: change roles and tenant, disable, revoke everything.
"use strict";
(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const status = document.getElementById("status");
  async function send(method, url, body) {
    const headers = { "X-CSRF-Token": csrf };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(url, {
      method, headers, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    status.textContent = response.ok ? "Saved." : "That did not work (" + response.status + ").";
    return response.ok;
  }
  document.querySelectorAll("tr[data-user]").forEach(function (row) {
    const url = "/admin/users/" + encodeURIComponent(row.dataset.user);
    row.querySelector(".save").addEventListener("click", function () {
      const roles = row.querySelector(".roles").value.split(/\s+/).filter(Boolean);
      const tenant = row.querySelector(".tenant").value.trim() || null;
      send("PATCH", url, { roles, tenant });
    });
    row.querySelector(".toggle").addEventListener("click", async function (event) {
      const disabled = event.target.dataset.disabled !== "true";
      if (await send("PATCH", url, { disabled })) location.reload();
    });
    row.querySelector(".revoke").addEventListener("click", function () {
      send("POST", url + "/revoke");
    });
  });
})();
