/* 公文写作台: draft, review with inline marks and one-click fixes, compare, duplicate check, minutes,
   the 公文库 and DOCX downloads. All user text goes through textContent (HB.el). */
"use strict";

(() => {
  const { api, el, clear, show, errorText, highlighted, toUnits, formatTime, base, csrfHeader } = HB;
  const $ = (id) => document.getElementById(id);
  const editor = $("gw-editor");
  const marked = $("gw-marked");
  const errorBox = $("gw-error");
  const SEVERITY = { error: "错误", warning: "警告", info: "提示" };
  const CATEGORY = { format: "格式", wording: "用语", safety: "安全" };
  const OPS = { equal: "", insert: "新增", delete: "删除", replace: "修改", move: "移动" };

  let findings = [];
  let reviewedText = null; // the text the findings' offsets refer to
  let current = { id: null, version: null, title: "" }; // the 公文库 document being edited

  function fail(err) {
    show(errorBox, errorText(err));
  }

  async function busy(button, work) {
    show(errorBox, "");
    button.disabled = true;
    try {
      return await work();
    } catch (err) {
      fail(err);
      return null;
    } finally {
      button.disabled = false;
    }
  }

  function text() {
    return editor.value;
  }

  function updateCount() {
    $("gw-count").textContent = editor.value ? `共 ${[...editor.value].length} 字` : "";
  }

  // --- tabs and view mode ----------------------------------------------------------------------------
  function selectTab(name) {
    for (const b of document.querySelectorAll(".gw-tabs [data-tab]")) b.setAttribute("aria-selected", String(b.dataset.tab === name));
    for (const p of document.querySelectorAll("[data-pane]")) p.hidden = p.dataset.pane !== name;
  }
  for (const b of document.querySelectorAll(".gw-tabs [data-tab]")) b.addEventListener("click", () => selectTab(b.dataset.tab));

  function setMode(mark) {
    marked.hidden = !mark;
    editor.hidden = mark;
    $("gw-mode-edit").setAttribute("aria-pressed", String(!mark));
    $("gw-mode-mark").setAttribute("aria-pressed", String(mark));
    if (mark) renderMarks();
  }
  $("gw-mode-edit").addEventListener("click", () => setMode(false));
  $("gw-mode-mark").addEventListener("click", () => setMode(true));
  editor.addEventListener("input", () => {
    updateCount();
    if (reviewedText !== null && editor.value !== reviewedText) {
      $("gw-review-summary").prepend(el("span", { class: "badge badge-gray", text: "正文已修改，请重新审核" }));
      reviewedText = null;
      findings = [];
    }
  });

  // --- review ------------------------------------------------------------------------------------------
  function select(i) {
    const f = findings[i];
    if (!f) return;
    for (const node of document.querySelectorAll(".gw-finding.current, .gw-marked mark.current")) node.classList.remove("current");
    const item = document.querySelector(`.gw-finding[data-i="${i}"]`);
    if (item) {
      item.classList.add("current");
      item.scrollIntoView({ block: "nearest" });
    }
    const mark = marked.querySelector(`mark[data-i="${i}"]`);
    if (mark) {
      mark.classList.add("current");
      mark.scrollIntoView({ block: "center" });
    }
    if (!editor.hidden) {
      const [s, e] = toUnits(editor.value, [f.start, f.end]);
      editor.focus();
      editor.setSelectionRange(s, e);
    }
  }

  function renderMarks() {
    clear(marked);
    if (reviewedText === null) {
      marked.textContent = editor.value || "（正文为空）";
      return;
    }
    // Overlapping findings merge into one mark; it points at the first finding it covers.
    const spans = findings.map((f) => [f.start, f.end]);
    const order = findings.map((f, i) => i).filter((i) => findings[i].end > findings[i].start).sort((a, b) => findings[a].start - findings[b].start);
    let k = 0;
    marked.append(
      highlighted(reviewedText, spans, () => {
        const i = order[k++] ?? 0;
        const f = findings[i] || {};
        return { class: "sev-" + (f.severity || "warning"), "data-i": i, title: f.message || "", onclick: () => { selectTab("findings"); select(i); } };
      }),
    );
  }

  function applyFix(i) {
    const f = findings[i];
    if (!f || f.replacement === null || f.replacement === undefined || reviewedText === null) return;
    const [s, e] = toUnits(reviewedText, [f.start, f.end]);
    editor.value = reviewedText.slice(0, s) + f.replacement + reviewedText.slice(e);
    updateCount();
    runReview(); // offsets after the fix have moved: review again
  }

  function renderFindings(report) {
    const list = clear($("gw-findings"));
    const summary = clear($("gw-review-summary"));
    const bySeverity = {};
    for (const f of findings) bySeverity[f.severity] = (bySeverity[f.severity] || 0) + 1;
    summary.append(
      el("span", { text: `文种：${report.doc_type || "未识别"}` }),
      el("span", { class: "badge badge-red", text: `错误 ${bySeverity.error || 0}` }),
      el("span", { class: "badge badge-blue", text: `警告 ${bySeverity.warning || 0}` }),
      el("span", { class: "badge badge-gray", text: `提示 ${bySeverity.info || 0}` }),
    );
    if (!findings.length) {
      list.append(el("li", { class: "empty", text: "未发现问题。" }));
      return;
    }
    findings.forEach((f, i) => {
      const fix = f.replacement !== null && f.replacement !== undefined
        ? el("button", { type: "button", class: "btn btn-sm", text: f.replacement ? `改为“${f.replacement}”` : "删除", onclick: (ev) => { ev.stopPropagation(); applyFix(i); } })
        : null;
      list.append(
        el("li", { class: "gw-finding sev-" + f.severity, "data-i": i, tabindex: 0, onclick: () => select(i), onkeydown: (ev) => { if (ev.key === "Enter") select(i); } },
          el("div", {},
            el("span", { class: "badge " + (f.severity === "error" ? "badge-red" : f.severity === "info" ? "badge-gray" : "badge-blue"), text: SEVERITY[f.severity] || f.severity }), " ",
            el("span", { class: "badge badge-gray", text: CATEGORY[f.category] || f.category }), " ",
            el("strong", { text: f.message })),
          f.text ? el("p", { class: "gw-quote", text: `原文：${f.text}` }) : null,
          f.suggestion ? el("p", { text: `建议：${f.suggestion}` }) : null,
          fix ? el("p", {}, fix) : null),
      );
    });
  }

  async function runReview() {
    const value = text();
    const report = await busy($("gw-review"), () => api("POST", "/api/gongwen/review", { text: value }));
    if (!report) return;
    findings = report.findings || [];
    reviewedText = value;
    renderFindings(report);
    selectTab("findings");
    if (!marked.hidden) renderMarks();
  }
  $("gw-review").addEventListener("click", runReview);

  // --- downloads ---------------------------------------------------------------------------------------
  async function download(path, body, filename) {
    const resp = await fetch(base + path, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json, application/octet-stream", ...csrfHeader("POST") },
      body: JSON.stringify(body),
    });
    if (!resp.ok) {
      let data = null;
      try { data = await resp.json(); } catch (e) { data = null; }
      throw new HB.ApiError((data && data.code) || "HTTP_" + resp.status, (data && data.message) || `下载失败（HTTP ${resp.status}）`, resp.status, null);
    }
    const blob = await resp.blob();
    const url = URL.createObjectURL(blob);
    const a = el("a", { href: url, download: filename });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  function docName() {
    const first = (current.title || text().trim().split("\n").find((l) => l.trim()) || "公文").trim();
    return first.slice(0, 40).replace(/[\\/:*?"<>|]/g, "_") + ".docx";
  }

  $("gw-docx").addEventListener("click", (ev) => busy(ev.currentTarget, () => download("/api/gongwen/layout", { text: text(), filename: docName() }, docName())));
  $("gw-relayout").addEventListener("click", (ev) => busy(ev.currentTarget, () => download("/api/gongwen/layout", { text: text(), relayout: true, filename: docName() }, docName())));
  $("gw-compare-docx").addEventListener("click", (ev) => busy(ev.currentTarget, () => download("/api/gongwen/compare/docx", { old: $("gw-old").value, new: text() }, "修订对照.docx")));

  // --- open a file ---------------------------------------------------------------------------------------
  $("gw-file").addEventListener("change", async (ev) => {
    const file = ev.target.files[0];
    if (!file) return;
    const form = new FormData();
    form.append("file", file);
    show(errorBox, "");
    try {
      const doc = await api("POST", "/api/gongwen/parse", form);
      editor.value = doc.source;
      current = { id: null, version: null, title: doc.title ? doc.title.text : file.name };
      $("gw-doc-label").textContent = `已打开：${file.name}`;
      updateCount();
      setMode(false);
    } catch (err) {
      fail(err);
    } finally {
      ev.target.value = "";
    }
  });

  // --- drafting ------------------------------------------------------------------------------------------
  async function loadTypes() {
    try {
      const types = await api("GET", "/api/gongwen/types");
      const select_ = clear($("gw-types"));
      for (const t of types) select_.append(el("option", { value: t.name, text: `${t.name}（${t.direction}）`, title: t.use }));
      select_.value = "通知";
    } catch (err) {
      fail(err);
    }
  }

  const lines = (value) => value.split("\n").map((s) => s.trim()).filter(Boolean);

  $("gw-draft-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const form = ev.currentTarget;
    const data = new FormData(form);
    const body = {
      doc_type: data.get("doc_type"),
      issuer: data.get("issuer").trim(),
      subject: data.get("subject").trim(),
      addressees: data.get("addressee").trim() ? [data.get("addressee").trim()] : [],
      key_points: lines(data.get("key_points")),
      attachments: lines(data.get("attachments")),
    };
    const useModel = data.get("use_model") === "on";
    const result = await busy(form.querySelector("button[type=submit]"), () => api("POST", `/api/gongwen/draft?use_model=${useModel}`, body));
    if (!result) return;
    if (editor.value.trim() && !window.confirm("用生成的初稿替换当前正文吗？")) return;
    editor.value = result.text;
    current = { id: null, version: null, title: "" };
    $("gw-doc-label").textContent = "";
    updateCount();
    setMode(false);
    const notes = (result.warnings || []).join("；");
    $("gw-draft-status").textContent = (result.mode === "model" ? "已由大模型撰写各部分。" : "已生成结构化初稿，请补全【请填写】处。") + (notes ? ` 提示：${notes}` : "");
  });

  // --- writing toolbox -------------------------------------------------------------------------------
  let toolRange = null; // [start, end] of the editor text the result replaces (UTF-16 units)

  $("gw-tool-run").addEventListener("click", async (ev) => {
    const s = editor.selectionStart;
    const e = editor.selectionEnd;
    toolRange = e > s ? [s, e] : [0, editor.value.length];
    const operation = $("gw-tool-op").value;
    const body = { operation, text: editor.value.slice(toolRange[0], toolRange[1]) };
    if (operation === "摘要" || operation === "缩写") body.ratio = Number($("gw-tool-ratio").value) || 0.3;
    const result = await busy(ev.currentTarget, () => api("POST", "/api/gongwen/toolbox", body));
    if (!result) return;
    $("gw-tool-result").hidden = false;
    $("gw-tool-text").value = result.text;
    $("gw-tool-mode").textContent = (result.mode === "model" ? "由大模型生成" : "抽取原文句子") + ((result.warnings || []).length ? "；" + result.warnings.join("；") : "");
  });

  $("gw-tool-apply").addEventListener("click", () => {
    if (!toolRange) return;
    editor.value = editor.value.slice(0, toolRange[0]) + $("gw-tool-text").value + editor.value.slice(toolRange[1]);
    toolRange = null;
    $("gw-tool-result").hidden = true;
    updateCount();
    setMode(false);
  });

  // --- compare ---------------------------------------------------------------------------------------
  /** One side of a changed sentence: its character pieces, the changed ones wrapped in <del> or <ins>. */
  function pieces(chars, drop, tag) {
    return chars.filter((c) => c.op !== drop).map((c) => (c.op === "equal" ? c.text : el(tag, {}, c.text)));
  }

  function renderCompare(report) {
    const pair = (report.pairs || [])[0];
    const table = clear($("gw-diff"));
    const summary = clear($("gw-compare-summary"));
    if (!pair) return;
    const s = pair.stats || {};
    summary.append(
      el("span", { class: "badge badge-green", text: `新增 ${s.inserted_sentences || 0} 句` }),
      el("span", { class: "badge badge-red", text: `删除 ${s.deleted_sentences || 0} 句` }),
      el("span", { class: "badge badge-blue", text: `修改 ${s.changed_sentences || 0} 句` }),
      el("span", { class: "badge badge-gray", text: `移动 ${s.moved_sentences || 0} 句` }),
    );
    table.append(el("colgroup", {}, el("col", { style: "width:44px" }), el("col"), el("col")));
    table.append(el("thead", {}, el("tr", {}, el("th", { text: "" }), el("th", { text: pair.left_name || "原稿" }), el("th", { text: pair.right_name || "现稿" }))));
    const body = el("tbody");
    for (const row of pair.rows || []) {
      const detailed = (row.chars || []).length > 0;
      const left = row.left === null || row.left === undefined ? "" : detailed ? pieces(row.chars, "insert", "del") : row.left;
      const right = row.right === null || row.right === undefined ? "" : detailed ? pieces(row.chars, "delete", "ins") : row.right;
      const title = row.op === "move" ? `移动（第 ${row.move_id} 处）` : null;
      body.append(el("tr", { class: "row-" + row.op, title }, el("td", { class: "op", text: row.op in OPS ? OPS[row.op] : row.op }), el("td", { class: "left" }, left), el("td", { class: "right" }, right)));
    }
    table.append(body);
  }

  $("gw-compare").addEventListener("click", async (ev) => {
    const report = await busy(ev.currentTarget, () => api("POST", "/api/gongwen/compare", { versions: [$("gw-old").value, text()], names: ["原稿", "现稿"] }));
    if (report) renderCompare(report);
  });

  // --- duplicate check -------------------------------------------------------------------------------
  async function loadCorpora() {
    try {
      const kbs = await api("GET", "/api/kbs");
      for (const kb of kbs) $("gw-corpus").append(el("option", { value: kb.id, text: `知识库：${kb.name}` }));
    } catch (err) {
      /* no readable knowledge base: the 公文库 alone */
    }
  }

  $("gw-dedup").addEventListener("click", async (ev) => {
    // The document being edited is left out: it would only find itself.
    const body = { text: text(), corpus: $("gw-corpus").value, threshold: Number($("gw-threshold").value) || 0.7, exclude: current.id ? [current.id] : [] };
    const report = await busy(ev.currentTarget, () => api("POST", "/api/gongwen/dedup", body));
    if (!report) return;
    const summary = clear($("gw-dedup-summary"));
    const box = clear($("gw-dups"));
    const ratio = Math.round((report.duplicate_ratio || 0) * 1000) / 10;
    summary.append(
      el("span", { class: "badge " + (ratio > 30 ? "badge-red" : "badge-blue"), text: `重复率 ${ratio}%` }),
      el("span", { text: `检查 ${report.checked_sentences || 0} 句，重复 ${(report.duplicated_sentences || []).length} 句` }),
    );
    for (const dup of report.duplicated_sentences || []) {
      const sources = (dup.sources || []).map((src) =>
        el("blockquote", {}, el("div", {}, el("strong", { text: src.title || src.doc_id }), ` · 相似度 ${Math.round((src.similarity ?? dup.similarity) * 100)}%`), src.text));
      box.append(el("div", { class: "gw-dup" }, el("div", { text: dup.text }), ...sources));
    }
    if (!(report.duplicated_sentences || []).length) box.append(el("p", { class: "empty", text: "未发现重复语句。" }));
  });

  // --- minutes -----------------------------------------------------------------------------------------
  $("gw-minutes").addEventListener("click", async (ev) => {
    const meeting = {};
    if ($("gw-meeting-name").value.trim()) meeting.name = $("gw-meeting-name").value.trim();
    if ($("gw-meeting-date").value) meeting.date = $("gw-meeting-date").value;
    const result = await busy(ev.currentTarget, () => api("POST", "/api/gongwen/minutes", { transcript: $("gw-transcript").value, meeting }));
    if (!result) return;
    const box = clear($("gw-minutes-result"));
    const actions = result.actions || [];
    box.append(el("p", { text: `议定事项 ${(result.decisions || []).length} 项，待办事项 ${actions.length} 项。` }));
    if (actions.length) {
      const tbody = el("tbody");
      for (const a of actions) tbody.append(el("tr", {}, el("td", { text: a.owner || "—" }), el("td", { text: a.task }), el("td", { text: a.deadline ? a.deadline.text + (a.deadline.date ? `（${HB.formatDate(a.deadline.date)}）` : "") : "—" })));
      box.append(el("table", { class: "table" }, el("thead", {}, el("tr", {}, el("th", { text: "责任人/单位" }), el("th", { text: "事项" }), el("th", { text: "时限" }))), tbody));
    }
    box.append(el("p", {}, el("button", { type: "button", class: "btn btn-sm", text: "放入正文", onclick: () => { editor.value = result.text; updateCount(); setMode(false); } })));
  });

  // --- the 公文库 ---------------------------------------------------------------------------------------
  async function loadLibrary() {
    const q = $("gw-lib-q").value.trim();
    try {
      const docs = await api("GET", "/api/gongwen/documents" + (q ? "?q=" + encodeURIComponent(q) : ""));
      const tbody = clear($("gw-library").querySelector("tbody"));
      if (!docs.length) tbody.append(el("tr", {}, el("td", { colspan: 5, class: "empty", text: "公文库中还没有公文。" })));
      for (const d of docs) {
        tbody.append(el("tr", {},
          el("td", { class: "title-cell", text: d.title }), el("td", { text: d.doc_type || "—" }), el("td", { class: "num", text: `第${d.latest_version}版` }),
          el("td", { text: formatTime(d.updated_at) }),
          el("td", { class: "actions" }, el("button", { type: "button", class: "btn btn-sm btn-plain", text: "打开", onclick: () => openDocument(d.id) }))));
      }
    } catch (err) {
      fail(err);
    }
  }

  async function openDocument(id, version) {
    try {
      const d = await api("GET", `/api/gongwen/documents/${encodeURIComponent(id)}` + (version ? `?version=${version}` : ""));
      editor.value = d.text;
      current = { id: d.id, version: d.version, title: d.title };
      $("gw-doc-label").textContent = `公文库：${d.title}（第${d.version}版）`;
      updateCount();
      setMode(false);
      const box = clear($("gw-versions"));
      box.append(el("h3", { text: "历史版本" }));
      for (const v of d.versions.slice().reverse()) {
        box.append(el("div", { class: "gw-toolbar" },
          el("span", { text: `第${v.number}版 · ${v.author || ""} · ${formatTime(v.created_at)}${v.note ? " · " + v.note : ""}` }),
          el("button", { type: "button", class: "btn btn-sm btn-plain", text: "作为对照稿", onclick: () => loadAsOld(d.id, v.number) })));
      }
    } catch (err) {
      fail(err);
    }
  }

  async function loadAsOld(id, version) {
    try {
      const d = await api("GET", `/api/gongwen/documents/${encodeURIComponent(id)}?version=${version}`);
      $("gw-old").value = d.text;
      selectTab("compare");
    } catch (err) {
      fail(err);
    }
  }

  $("gw-save").addEventListener("click", async (ev) => {
    const note = current.id ? window.prompt("版本说明（可空）", "") : "";
    if (note === null) return;
    const path = current.id ? `/api/gongwen/documents/${encodeURIComponent(current.id)}/versions` : "/api/gongwen/documents";
    const d = await busy(ev.currentTarget, () => api("POST", path, { text: text(), note }));
    if (!d) return;
    current = { id: d.id, version: d.version, title: d.title };
    $("gw-doc-label").textContent = `已保存：${d.title}（第${d.version}版）`;
    loadLibrary();
  });
  $("gw-lib-search").addEventListener("click", loadLibrary);
  $("gw-new").addEventListener("click", () => {
    if (editor.value.trim() && !window.confirm("清空正文，新建一篇公文吗？")) return;
    editor.value = "";
    current = { id: null, version: null, title: "" };
    findings = [];
    reviewedText = null;
    $("gw-doc-label").textContent = "";
    updateCount();
    setMode(false);
  });

  document.addEventListener("DOMContentLoaded", () => {
    loadTypes();
    loadCorpora();
    loadLibrary();
    updateCount();
  });
})();
