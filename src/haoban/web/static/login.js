/* 登录：调用 /api/auth/login，成功后回到 next 指定的本站页面。 */
"use strict";

(() => {
  const { api, show, errorText, base } = HB;
  const form = document.getElementById("login-form");
  const error = document.getElementById("login-error");
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    show(error, "");
    const button = form.querySelector("button");
    button.disabled = true;
    try {
      await api("POST", "/api/auth/login", {
        username: document.getElementById("username").value.trim(),
        password: document.getElementById("password").value,
      });
      window.location.assign(base + (form.dataset.next || "/"));
    } catch (e) {
      show(error, errorText(e));
      button.disabled = false;
    }
  });
})();
