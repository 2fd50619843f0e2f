/*
 * 智能办事助手：口语化需求 → 事项/一件事卡片。需要区分情形时显示追问按钮，点选后带着 answers 重新匹配；
 * 卡片展开为材料清单、步骤、时限、渠道和设定依据（能在知识库找到原文的显示为链接），并可勾选已有材料预审。
 * 所有文字经 textContent 写入，不拼接 HTML。
 */
"use strict";

(() => {
  const { api, el, clear, show, errorText, base } = HB;
  const form = document.getElementById("guide-form");
  const input = document.getElementById("query");
  const sendBtn = document.getElementById("send");
  const thread = document.getElementById("thread");
  const welcome = document.getElementById("welcome");
  const errorLine = document.getElementById("guide-error");
  const QUALS = ["高新技术企业", "科技型中小企业", "专精特新中小企业", "小规模纳税人", "规模以上工业企业", "依法参加失业保险", "吸纳高校毕业生", "对外贸易经营者备案"];

  function days(n) {
    if (n === null || n === undefined) return "—";
    return n === 0 ? "即办" : `${n} 个工作日`;
  }

  function botMessage(...children) {
    const bubble = el("div", { class: "bubble" }, ...children);
    const msg = el("div", { class: "msg msg-bot" }, el("span", { class: "avatar", "aria-hidden": "true" }, "办"), bubble);
    thread.append(msg);
    return bubble;
  }

  async function ask(query, answers) {
    show(errorLine, "");
    welcome.hidden = true;
    thread.append(el("div", { class: "msg msg-user" }, el("div", { class: "bubble", text: query + (Object.keys(answers).length ? `（${Object.values(answers).join("，")}）` : "") })));
    const bubble = botMessage(el("p", { class: "answer-wait" }, el("span", { class: "dots" }), "正在查找事项…"));
    sendBtn.disabled = true;
    try {
      const r = await api("POST", "/api/guide/match", { query, answers, k: 5 });
      clear(bubble);
      renderMatch(bubble, r);
    } catch (err) {
      clear(bubble);
      bubble.append(el("p", { class: "error-inline", role: "alert", text: errorText(err) }));
    } finally {
      sendBtn.disabled = false;
      bubble.scrollIntoView({ block: "nearest" });
    }
  }

  function renderMatch(bubble, r) {
    if (!r.candidates.length) {
      bubble.append(el("p", { text: "没有找到相关事项。可以换个说法，或拨打 12345 政务服务便民热线咨询。" }));
      return;
    }
    if (r.expanded.length) bubble.append(el("p", { class: "answer-rewritten", text: `识别到：${r.expanded.join("、")}` }));
    if (r.questions.length) {
      const box = el("div", { class: "guide-questions", "aria-label": "还需确认" });
      for (const q of r.questions) {
        const row = el("div", { class: "guide-question" }, el("span", { text: q.text }));
        for (const opt of q.options) {
          row.append(el("button", { type: "button", class: "related-chip", onclick: () => ask(r.query, { ...r.answers, [q.key]: opt }) }, opt));
        }
        box.append(row);
      }
      bubble.append(box);
    }
    const cards = el("div", { class: "guide-cards" });
    r.candidates.forEach((c, i) => cards.append(card(c, r.answers, i === 0)));
    bubble.append(cards);
  }

  function card(c, answers, open) {
    const detail = el("div", { class: "guide-detail" });
    const toggle = el("button", { type: "button", class: "btn btn-sm btn-plain" }, "材料清单");
    const node = el("article", { class: "guide-card", dataset: { code: c.code } },
      el("div", { class: "guide-card-head" },
        el("span", { class: c.kind === "bundle" ? "badge badge-green" : "badge badge-blue", text: c.kind === "bundle" ? "一件事" : "事项" }),
        el("h3", { text: c.name }), toggle),
      el("p", { class: "guide-meta" }, c.department ? el("span", { text: c.department }) : null,
        c.reasons.length ? el("span", { text: `命中：${c.reasons.join("、")}` }) : null),
      detail);
    let loaded = false;
    async function load() {
      if (loaded) { detail.hidden = !detail.hidden; return; }
      loaded = true;
      detail.append(el("p", { class: "muted", text: "加载中…" }));
      try {
        const [list, item] = await Promise.all([
          api("POST", "/api/guide/checklist", { code: c.code, answers }),
          c.kind === "item" ? api("GET", `/api/guide/items/${encodeURIComponent(c.code)}`) : Promise.resolve(null),
        ]);
        clear(detail);
        renderChecklist(detail, list, item, answers);
      } catch (err) {
        clear(detail);
        detail.append(el("p", { class: "error-inline", role: "alert", text: errorText(err) }));
        loaded = false;
      }
    }
    toggle.addEventListener("click", load);
    if (open) load();
    return node;
  }

  function renderChecklist(detail, list, item, answers) {
    if (Object.keys(list.situation).length) detail.append(el("p", { class: "muted", text: `情形：${Object.values(list.situation).join("；")}` }));
    for (const q of list.unresolved) detail.append(el("p", { class: "note", text: `尚需确认：${q.text}（${q.options.join(" / ")}），材料清单可能不完整` }));
    const rows = list.materials.map((m) => el("tr", {},
      el("td", { text: m.name }), el("td", { text: m.form }), el("td", { class: "num", text: String(m.count) }), el("td", { text: m.source }),
      el("td", {}, el("span", { class: m.required ? "badge badge-red" : "badge badge-gray", text: m.required ? "必要" : "按需" })),
      el("td", { class: "desc", text: m.condition || (list.kind === "bundle" && m.items.length > 1 ? `共用：${m.items.join("、")}` : "") })));
    detail.append(el("div", { class: "table-wrap" }, el("table", { class: "table" },
      el("thead", {}, el("tr", {}, ...["材料", "形式", "份数", "来源", "", "说明"].map((h) => el("th", { text: h })))),
      el("tbody", {}, ...rows))));
    if (list.shared_saved) detail.append(el("p", { class: "muted", text: `一件事合并办理，共用材料少交 ${list.shared_saved} 份` }));
    detail.append(el("h3", { text: "办理步骤" }), el("ol", {}, ...list.steps.map((s) => el("li", { text: s }))));
    detail.append(el("p", { class: "guide-meta" },
      el("span", { text: `承诺时限：${days(list.promised_days)}` }),
      list.legal_days !== null ? el("span", { text: `法定时限：${days(list.legal_days)}` }) : null,
      el("span", { text: `渠道：${list.channels.join("、")}` }),
      list.fee ? el("span", { text: `收费：${list.fee}` }) : null,
      list.location ? el("span", { text: `地点：${list.location}` }) : null));
    if (item && item.legal_basis.length) {
      const ul = el("ul", { class: "guide-basis" });
      for (const b of item.legal_basis) {
        const li = el("li", { text: b });
        ul.append(li);
        api("GET", `/api/guide/basis?text=${encodeURIComponent(b)}`).then((hit) => {
          if (hit && hit.document_id) { clear(li); li.append(el("a", { href: `${base}/documents/${encodeURIComponent(hit.document_id)}`, text: b })); }
        }).catch(() => {});
      }
      detail.append(el("p", { class: "field-label", text: "设定依据" }), ul);
    }
    if (item && item.faq.length) {
      detail.append(el("p", { class: "field-label", text: "常见问题" }));
      for (const f of item.faq) detail.append(el("p", {}, el("strong", { text: `问：${f.q}` }), el("br"), el("span", { text: `答：${f.a}` })));
    }
    detail.append(precheckForm(list, item, answers));
  }

  function precheckForm(list, item, answers) {
    const box = el("form", { class: "guide-pre", "aria-label": "材料预审" }, el("p", { class: "field-label", text: "智能预审：勾选已准备的材料，填写基本信息" }));
    const checks = list.materials.map((m) => {
      const cb = el("input", { type: "checkbox", value: m.name });
      box.append(el("label", {}, cb, " ", m.name));
      return cb;
    });
    const inputs = {};
    const fields = item ? item.form_fields : [];
    const grid = el("div", { class: "policy-grid" });
    for (const f of fields) {
      inputs[f.key] = el("input", { type: f.kind === "date" ? "date" : "text", name: f.key });
      grid.append(el("label", { class: "field" }, f.label + (f.required ? "（必填）" : ""), inputs[f.key]));
    }
    box.append(grid);
    const result = el("div", { role: "status" });
    box.append(el("p", {}, el("button", { type: "submit", class: "btn btn-sm" }, "预审")), result);
    box.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      clear(result);
      const body = { code: list.code, answers, provided: checks.filter((c) => c.checked).map((c) => c.value), fields: {} };
      for (const [k, node] of Object.entries(inputs)) body.fields[k] = node.value;
      try {
        const r = await api("POST", "/api/guide/precheck", body);
        result.append(el("p", { class: r.passed ? "badge badge-green" : "badge badge-red", text: r.passed ? "预审通过，可以去办理了" : "预审未通过" }));
        const ul = el("ul", {});
        for (const f of r.findings) ul.append(el("li", { class: `finding-${f.level}`, text: f.message }));
        result.append(ul);
      } catch (err) {
        result.append(el("p", { class: "error-inline", role: "alert", text: errorText(err) }));
      }
    });
    return box;
  }

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const q = input.value.trim();
    if (!q) { show(errorLine, "请描述您要办理的事情"); return; }
    input.value = "";
    ask(q, {});
  });
  input.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); form.requestSubmit(); }
  });
  for (const b of document.querySelectorAll("#samples button")) b.addEventListener("click", () => ask(b.textContent, {}));

  api("GET", "/api/guide/stats").then((s) => {
    document.getElementById("guide-stats").textContent = `事项目录：${s.items} 项事项（${s.departments} 个部门），${s.bundles} 件“一件事”，${s.policies} 条惠企政策`;
  }).catch(() => {});

  // ---- 惠企政策 ------------------------------------------------------------------------------------
  const pform = document.getElementById("policy-form");
  const quals = document.getElementById("quals");
  const presults = document.getElementById("policy-results");
  const perror = document.getElementById("policy-error");
  for (const q of QUALS) quals.append(el("label", {}, el("input", { type: "checkbox", value: q }), " ", q));
  pform.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    show(perror, "");
    clear(presults);
    const fd = new FormData(pform);
    const profile = { qualifications: [...quals.querySelectorAll("input:checked")].map((c) => c.value) };
    for (const k of ["industry", "size", "area", "established"]) if (fd.get(k)) profile[k] = fd.get(k);
    for (const k of ["revenue", "headcount"]) if (fd.get(k) !== "") profile[k] = Number(fd.get(k));
    try {
      const matches = await api("POST", "/api/guide/policies/match", { profile });
      for (const m of matches) {
        const failed = m.checks.some((c) => c.passed === false);
        const badge = m.eligible ? ["badge badge-green", "符合"] : failed ? ["badge badge-red", "不符合"] : ["badge badge-gray", "待补充信息"];
        presults.append(el("article", { class: "guide-card" },
          el("div", { class: "guide-card-head" }, el("span", { class: badge[0], text: badge[1] }), el("h3", { text: m.name }),
            m.exempt_application ? el("span", { class: "badge badge-blue", text: "免申即享" }) : null),
          el("p", { class: "guide-meta", text: m.benefit }),
          el("ul", {}, ...m.checks.map((c) => el("li", { class: c.passed === false ? "finding-invalid" : c.passed === null ? "finding-warning" : "", text: `${c.passed === true ? "✓" : c.passed === false ? "✗" : "？"} ${c.label}：${c.explanation}` })))));
      }
    } catch (err) {
      show(perror, errorText(err));
    }
  });
})();
