/* 审计日志：核验哈希链、按操作/结果筛选、导出。 */
"use strict";

(() => {
  const { api, el, clear, show, errorText, formatTime, base } = HB;
  const RESULT = { ok: "成功", denied: "拒绝", error: "出错" };

  async function verify() {
    const status = document.getElementById("verify-status");
    status.textContent = "核验中…";
    status.className = "verify-status";
    try {
      const r = await api("GET", "/api/audit/verify");
      status.textContent = r.message;
      status.classList.add(r.ok ? "verify-ok" : "verify-bad");
    } catch (e) {
      status.textContent = errorText(e);
      status.classList.add("verify-bad");
    }
  }

  async function load() {
    const f = new FormData(document.getElementById("audit-filter"));
    const params = new URLSearchParams({ limit: "100" });
    if (f.get("action")) params.set("action", f.get("action").trim());
    if (f.get("result")) params.set("result", f.get("result"));
    const body = document.querySelector("#audit-table tbody");
    try {
      const page = await api("GET", "/api/audit?" + params);
      clear(body);
      for (const r of page.items) {
        body.append(el("tr", { class: r.result === "ok" ? "" : "row-warn" },
          el("td", { class: "num" }, String(r.seq)), el("td", {}, formatTime(r.ts)),
          el("td", {}, r.actor_name), el("td", {}, r.action),
          el("td", {}, r.resource_type + (r.resource_id ? " · " + r.resource_id : "")),
          el("td", {}, RESULT[r.result] || r.result), el("td", { class: "desc" }, r.input_preview || "—")));
      }
      if (!page.items.length) body.append(el("tr", {}, el("td", { colspan: "7", class: "empty" }, "没有符合条件的记录")));
      document.getElementById("audit-total").textContent = `共 ${page.total} 条，显示最新 ${page.items.length} 条`;
      show(document.getElementById("audit-error"), "");
    } catch (e) {
      show(document.getElementById("audit-error"), errorText(e));
    }
  }

  document.getElementById("export-jsonl").href = base + "/api/audit/export?format=jsonl";
  document.getElementById("export-csv").href = base + "/api/audit/export?format=csv";
  document.getElementById("verify").addEventListener("click", verify);
  document.getElementById("audit-filter").addEventListener("submit", (ev) => {
    ev.preventDefault();
    load();
  });
  verify();
  load();
})();
