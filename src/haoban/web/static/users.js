/* 用户与权限：用户列表与新建、停用/启用，部门树，API Key 的创建与吊销。文字一律以 textContent 写入。 */
"use strict";

(() => {
  const { api, el, clear, show, errorText, formatTime } = HB;
  const pageError = document.getElementById("page-error");
  const ROLE_NAMES = { admin: "管理员", staff: "业务人员", agent: "坐席", viewer: "只读" };
  let users = [];

  function fail(e) {
    show(pageError, errorText(e));
  }

  async function loadDepartments() {
    const depts = await api("GET", "/api/departments");
    const list = document.getElementById("dept-list");
    clear(list);
    if (!depts.length) list.append(el("li", { class: "muted" }, "尚无部门"));
    for (const d of depts) {
      const depth = d.path.split("/").length - 2;
      list.append(el("li", { style: `padding-left:${depth * 20}px` }, d.name, el("span", { class: "muted" }, "  " + d.path)));
    }
    for (const select of document.querySelectorAll(".dept-select")) {
      const keep = select.options[0];
      clear(select);
      select.append(keep);
      for (const d of depts) select.append(el("option", { value: d.id }, d.path));
    }
  }

  async function loadUsers() {
    users = await api("GET", "/api/users");
    const body = document.querySelector("#user-table tbody");
    clear(body);
    for (const u of users) {
      const toggle = el("button", { class: "btn btn-sm " + (u.active ? "btn-danger" : "btn-plain"), type: "button" }, u.active ? "停用" : "启用");
      toggle.addEventListener("click", async () => {
        try {
          await api("PATCH", `/api/users/${encodeURIComponent(u.id)}`, { active: !u.active });
          await loadUsers();
        } catch (e) {
          fail(e);
        }
      });
      body.append(
        el("tr", {},
          el("td", {}, u.username),
          el("td", {}, u.display_name || "—"),
          el("td", {}, u.roles.map((r) => ROLE_NAMES[r] || r).join("、")),
          el("td", {}, u.department_path || "全平台"),
          el("td", {}, u.active ? "正常" : "已停用"),
          el("td", {}, u.last_login_at ? formatTime(u.last_login_at) : "—"),
          el("td", {}, toggle)));
    }
    if (!users.length) body.append(el("tr", {}, el("td", { colspan: "7", class: "empty" }, "暂无用户")));
    const select = document.getElementById("key-user");
    const current = select.value;
    clear(select);
    for (const u of users) select.append(el("option", { value: u.id }, u.username));
    if (current) select.value = current;
    await loadKeys();
  }

  async function loadKeys() {
    const user = document.getElementById("key-user").value;
    const body = document.querySelector("#key-table tbody");
    clear(body);
    if (!user) return;
    const keys = await api("GET", `/api/users/${encodeURIComponent(user)}/keys`);
    for (const k of keys) {
      const expired = k.expires_at && new Date(k.expires_at) < new Date();
      const status = k.revoked_at ? "已吊销" : expired ? "已过期" : "有效";
      const revoke = el("button", { class: "btn btn-sm btn-danger", type: "button" }, "吊销");
      revoke.disabled = Boolean(k.revoked_at);
      revoke.addEventListener("click", async () => {
        if (!window.confirm(`确定吊销“${k.name}”？使用它的系统将立即无法访问。`)) return;
        try {
          await api("DELETE", `/api/keys/${encodeURIComponent(k.id)}`);
          await loadKeys();
        } catch (e) {
          fail(e);
        }
      });
      body.append(el("tr", {},
        el("td", {}, k.name), el("td", {}, k.prefix + "…"), el("td", {}, k.scopes.join(", ")),
        el("td", {}, k.expires_at ? formatTime(k.expires_at) : "不限"), el("td", {}, status),
        el("td", {}, k.last_used_at ? formatTime(k.last_used_at) : "—"), el("td", {}, revoke)));
    }
    if (!keys.length) body.append(el("tr", {}, el("td", { colspan: "7", class: "empty" }, "该用户还没有 API Key")));
  }

  document.getElementById("user-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target);
    try {
      const u = await api("POST", "/api/users", {
        username: f.get("username").trim(), display_name: f.get("display_name").trim(), password: f.get("password"),
        roles: [f.get("roles")], department: f.get("department") || null,
      });
      ev.target.reset();
      document.getElementById("user-msg").textContent = `已创建用户 ${u.username}`;
      await loadUsers();
    } catch (e) {
      fail(e);
    }
  });

  document.getElementById("dept-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target);
    try {
      await api("POST", "/api/departments", { name: f.get("name").trim(), parent: f.get("parent") || null });
      ev.target.reset();
      await loadDepartments();
    } catch (e) {
      fail(e);
    }
  });

  document.getElementById("key-user").addEventListener("change", () => loadKeys().catch(fail));

  document.getElementById("key-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target);
    const scopes = f.get("scopes").split(/[,，\s]+/).filter(Boolean);
    const days = f.get("expires_days");
    try {
      const created = await api("POST", `/api/users/${encodeURIComponent(f.get("user"))}/keys`, {
        name: f.get("name").trim(), scopes: scopes.length ? scopes : null, expires_days: days ? Number(days) : null,
      });
      const box = document.getElementById("key-created");
      box.textContent = `新 API Key（只显示这一次，请妥善保存）：${created.key}`;
      box.hidden = false;
      ev.target.querySelector('[name="name"]').value = "";
      await loadKeys();
    } catch (e) {
      fail(e);
    }
  });

  (async () => {
    try {
      await loadDepartments();
      await loadUsers();
    } catch (e) {
      fail(e);
    }
  })();
})();
