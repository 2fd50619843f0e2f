// 12345 hotline workbench: queue, ticket detail with suggestions and similar tickets, one-click dispatch, 考评 table.
(() => {
  const { api, el, clear, errorText } = HB;
  const SLA = { ok: "正常", warning: "临期", overdue: "超期", none: "—" };
  const $ = (id) => document.getElementById(id);
  const pct = (x) => (x === null || x === undefined ? "—" : Math.round(x * 100) + "%");

  function showError(err) {
    const box = $("hl-error");
    box.textContent = errorText ? errorText(err) : String(err.message || err);
    box.hidden = false;
  }

  // Retraining (hotline.admin only; the button is not rendered for others): the report says what was learnt.
  const trainButton = $("hl-train");
  if (trainButton) {
    trainButton.addEventListener("click", async () => {
      trainButton.disabled = true;
      $("hl-train-status").textContent = "训练中，约需一分钟……";
      try {
        const r = await api("POST", "/api/hotline/train");
        const fields = Object.entries(r.fields).map(([name, f]) => (f.skipped ? `${name} 未训练` : `${name} ${f.classes.length} 类`));
        $("hl-train-status").textContent = `已训练模型 v${r.version}：${r.examples} 条已确认工单（${fields.join("，")}），用时 ${r.seconds} 秒`;
      } catch (err) {
        $("hl-train-status").textContent = "";
        showError(err);
      } finally {
        trainButton.disabled = false;
      }
    });
  }

  async function loadQueue() {
    const params = new URLSearchParams({ limit: "100" });
    if ($("hl-status").value) params.set("status", $("hl-status").value);
    if ($("hl-review").checked) params.set("review", "true");
    try {
      const page = await api("GET", "/api/hotline/tickets?" + params);
      const body = $("hl-queue").querySelector("tbody");
      clear(body);
      for (const t of page.items) {
        const row = el("tr", { class: "hl-row", dataset: { id: t.id }, onclick: () => loadDetail(t.id) },
          el("td", { text: t.number }), el("td", { text: t.status_label }), el("td", { text: t.department || "未分派" }),
          el("td", { text: SLA[t.sla_state] + (t.hours_left !== null ? `（${t.hours_left} 小时）` : ""), class: "sla-" + t.sla_state }),
          el("td", { text: t.summary }));
        body.append(row);
      }
      $("hl-summary").textContent = `共 ${page.total} 条`;
    } catch (err) { showError(err); }
  }

  async function act(id, body) {
    try {
      await api("POST", `/api/hotline/tickets/${encodeURIComponent(id)}/transitions`, body);
      await loadDetail(id);
      await loadQueue();
      await loadStats();
    } catch (err) { showError(err); }
  }

  async function loadDetail(id) {
    const box = $("hl-detail");
    try {
      const d = await api("GET", `/api/hotline/tickets/${encodeURIComponent(id)}`);
      const t = d.ticket;
      const dept = (t.suggestion && t.suggestion.department) || t.department || "";
      clear(box);
      box.append(
        el("h2", { text: `工单 ${t.number} · ${t.status_label}` }),
        el("p", { class: "hl-text", text: t.text }),
        el("p", { class: "muted", text: `来电 ${t.caller_masked || "—"} · ${t.channel} · 紧急程度 ${t.urgency} · 情绪 ${t.sentiment} · 时限 ${t.sla_rule}` }),
        el("p", { id: "hl-suggest", text: `推荐：${t.request_type || "—"} / ${t.domain || "—"} → ${dept || "—"}` +
          (t.suggestion && t.suggestion.confidence !== undefined ? `（置信度 ${Number(t.suggestion.confidence).toFixed(2)}）` : "") }),
      );
      if (t.needs_review) box.append(el("p", { class: "error-inline", text: "待人工复核：" + t.review_reason }));
      const rules = (t.suggestion && t.suggestion.rules) || [];
      if (rules.length) box.append(el("p", { text: "命中权责清单：" + rules.map((r) => `${r.id} ${r.name}`).join("；") }));
      const feats = (((t.suggestion || {}).predictions || {}).department || {}).features || [];
      if (feats.length) box.append(el("p", { class: "muted", text: "依据词：" + feats.map((f) => f[0]).join("、") }));
      box.append(el("h3", { text: "答复建议" }), el("p", { id: "hl-reply", text: d.suggested_reply }));
      box.append(actionForm(t, d, dept));
      if (d.similar.length) {
        box.append(el("h3", { text: "相似工单" }));
        const ul = el("ul", { id: "hl-similar" });
        const canMerge = d.allowed_actions.some((a) => a.action === "merge");
        for (const s of d.similar) {
          const li = el("li", { text: `${s.number}（相似度 ${s.score.toFixed(2)}）${s.summary} ` });
          if (canMerge) {
            li.append(el("button", { class: "btn btn-sm btn-plain", type: "button", dataset: { merge: s.id }, text: "并入此工单",
              onclick: () => window.confirm(`把本工单并入 ${s.number}？并入后本工单不再单独办理。`) && act(t.id, { action: "merge", into: s.id }) }));
          }
          ul.append(li);
        }
        box.append(ul);
      }
      box.append(el("h3", { text: "流转记录" }));
      const ol = el("ol", { id: "hl-events" });
      for (const e of d.events) ol.append(el("li", { text: `${HB.formatTime ? HB.formatTime(e.created_at) : e.created_at} ${e.label}（${e.actor_name}）${e.note || ""}` }));
      box.append(ol);
    } catch (err) { showError(err); }
  }

  /** The actions allowed now; a step that needs input (答复、原因、满意度、部门) asks for it in one small form. */
  function actionForm(t, d, dept) {
    const form = el("form", { class: "hl-actions", id: "hl-actions" });
    const reply = el("textarea", { name: "reply", rows: "2", "aria-label": "答复内容", text: d.suggested_reply || "" });
    const reason = el("input", { name: "reason", "aria-label": "原因", placeholder: "原因（退单、督办、重办、延期）" });
    const department = el("input", { name: "department", "aria-label": "承办部门", value: dept || "" });
    const satisfaction = el("select", { name: "satisfaction", "aria-label": "满意度" },
      ...["满意", "基本满意", "不满意"].map((v) => el("option", { value: v, text: v })));
    const days = el("input", { name: "days", type: "number", min: "1", max: "30", value: "5", "aria-label": "延期工作日" });
    const inputs = { reply, reason, department, satisfaction, days };
    const needed = new Set(d.allowed_actions.flatMap((a) => a.needs || []));
    for (const [name, input] of Object.entries(inputs)) {
      if (needed.has(name)) form.append(el("label", { class: "field" }, { reply: "答复内容", reason: "原因", department: "承办部门", satisfaction: "满意度", days: "延期工作日" }[name], input));
    }
    const row = el("div", { class: "form-row" });
    for (const a of d.allowed_actions) {
      if (a.action === "merge") continue; // merging picks a target ticket: done from the similar-ticket list
      row.append(el("button", { class: a.action === "dispatch" ? "btn" : "btn btn-plain", type: "button", dataset: { action: a.action },
        id: a.action === "dispatch" ? "hl-dispatch" : null, text: a.action === "dispatch" && dept ? `派单到 ${dept}` : a.label,
        onclick: () => {
          const body = { action: a.action };
          for (const need of a.needs || []) body[need] = need === "days" ? Number(inputs.days.value) : inputs[need].value.trim();
          act(t.id, body);
        } }));
    }
    form.append(row);
    return form;
  }

  $("hl-intake").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target);
    const body = { text: f.get("text").trim(), channel: f.get("channel") };
    for (const k of ["caller_phone", "location"]) if (f.get(k).trim()) body[k] = f.get(k).trim();
    try {
      const t = await api("POST", "/api/hotline/tickets", body);
      ev.target.reset();
      $("hl-error").hidden = true;
      await loadQueue();
      await loadDetail(t.id);
    } catch (err) { showError(err); }
  });

  async function loadStats() {
    try {
      const s = await api("GET", "/api/hotline/stats");
      const body = $("hl-depts").querySelector("tbody");
      clear(body);
      for (const d of s.departments) {
        body.append(el("tr", {}, el("td", { text: d.department }), el("td", { text: String(d.total) }), el("td", { text: pct(d.close_rate) }),
          el("td", { text: pct(d.on_time_rate) }), el("td", { text: pct(d.satisfaction_rate) }), el("td", { text: d.score.toFixed(1) })));
      }
    } catch (err) { showError(err); }
  }

  $("hl-status").addEventListener("change", loadQueue);
  $("hl-review").addEventListener("change", loadQueue);
  loadQueue();
  loadStats();
})();
