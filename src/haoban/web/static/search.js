/* 检索：条件都在地址栏里（?q=…&kb=…），检索结果可以直接转发链接。 */
"use strict";

(() => {
  const { api, el, clear, show, errorText, highlighted, base } = HB;
  const form = document.getElementById("search-form");
  const kbBox = document.getElementById("kb-options");
  const results = document.getElementById("results");
  const errorLine = document.getElementById("search-error");
  const noticeLine = document.getElementById("search-notice");
  const statusLine = document.getElementById("search-status");
  const MODES = { hybrid: "混合", lexical: "关键词", dense: "向量" };
  // Values equal to these defaults are left out of the address, to keep links short.
  const DEFAULTS = { validity: "current", mode: "hybrid", top_k: "10" };
  const FIELDS = ["issuer", "date_from", "date_to", "validity", "mode", "top_k"];
  let kbNames = {};
  let seq = 0;

  async function loadKbs() {
    let kbs = [];
    try {
      kbs = await api("GET", "/api/kbs");
    } catch (err) {
      clear(kbBox).append(el("span", { class: "error-inline" }, "知识库列表加载失败：" + errorText(err)));
      return;
    }
    clear(kbBox);
    if (!kbs.length) {
      kbBox.append(el("span", { class: "muted" }, "还没有知识库。"), " ", el("a", { href: `${base}/` }, "去新建"));
    }
    for (const kb of kbs) {
      kbNames[kb.id] = kb.name;
      kbBox.append(
        el("label", { class: "check" },
          el("input", { type: "checkbox", name: "kb", value: kb.id, dataset: { name: kb.name } }),
          " ", kb.name, el("span", { class: "muted" }, `（${kb.document_count}）`)),
      );
    }
  }

  /** Form -> URLSearchParams, dropping empty values and defaults. */
  function formParams() {
    const params = new URLSearchParams();
    const q = form.elements.q.value.trim();
    if (q) params.set("q", q);
    for (const box of kbBox.querySelectorAll("input[name=kb]:checked")) params.append("kb", box.value);
    for (const name of FIELDS) {
      const v = form.elements[name].value.trim();
      if (v && v !== DEFAULTS[name]) params.set(name, v);
    }
    return params;
  }

  /** URL -> knowledge base checkboxes. A kb may be given by id or by name. */
  function fillKbs(params) {
    const wanted = new Set(params.getAll("kb"));
    for (const box of kbBox.querySelectorAll("input[name=kb]")) {
      box.checked = wanted.has(box.value) || wanted.has(box.dataset.name);
    }
  }

  /** URL -> form. */
  function fillForm(params) {
    form.elements.q.value = params.get("q") || "";
    fillKbs(params);
    for (const name of FIELDS) {
      const field = form.elements[name];
      const v = params.get(name) || DEFAULTS[name] || "";
      field.value = v;
      if (field.tagName === "SELECT" && field.value !== v) field.value = DEFAULTS[name] || "";
    }
  }

  function hitCard(hit, withCopies) {
    const c = hit.citation;
    const href = `${base}/documents/${encodeURIComponent(c.document_id)}?start=${c.start}&end=${c.end}`;
    // A question–answer pair: the title is the question and the passage is (part of) its answer.
    const faq = c.format === "faq";
    const title = el("h3", { class: "hit-title" }, faq ? el("span", { class: "qa-mark" }, "问") : null, el("a", { href }, c.title || "（无标题）"));
    if (c.doc_number) title.append(el("span", { class: "doc-number" }, c.doc_number));
    const meta = el("p", { class: "hit-meta" });
    const path = (c.heading_path || "").split(/\s*>\s*/).filter(Boolean).join(" › ");
    const metaParts = [c.issuer, kbNames[hit.kb_id], path].filter(Boolean);
    metaParts.forEach((part, i) => {
      if (i) meta.append(el("span", { class: "sep" }, " › "));
      meta.append(el("span", { class: i === metaParts.length - 1 && path ? "heading-path" : "" }, part));
    });
    const scores = [`得分 ${hit.score.toFixed(4)}`];
    if (hit.lexical_score !== null && hit.lexical_score !== undefined) scores.push(`关键词 ${hit.lexical_score.toFixed(2)}`);
    if (hit.dense_score !== null && hit.dense_score !== undefined) scores.push(`向量 ${hit.dense_score.toFixed(3)}`);
    // Reposts and re-entered copies of this text are folded under it by the server (said once per document).
    const copies = withCopies && (hit.copies || []).length
      ? el("p", { class: "hit-copies muted" }, `另有 ${hit.copies.length} 份相同或高度相似的文件：`,
        ...hit.copies.flatMap((d, i) => [
          i ? "、" : "",
          el("a", { href: `${base}/documents/${encodeURIComponent(d.document_id)}` }, d.title || "（无标题）"),
          el("span", { class: "copy-similarity" }, copySimilarity(d.similarity)),
        ]))
      : null;
    return el(
      "article",
      { class: "hit", dataset: { documentId: c.document_id } },
      title,
      meta,
      el("p", { class: "hit-text" }, faq ? el("span", { class: "qa-mark qa-answer" }, "答") : null, highlighted(hit.text, hit.highlights)),
      copies,
      el("footer", { class: "hit-foot" },
        el("span", { class: "muted score" }, scores.join(" · ")),
        el("a", { class: "btn btn-plain btn-sm view-source", href }, "查看原文")),
    );
  }

  /** "相同" for a copy of the very text; else how much of it is shared (a template under another name). */
  function copySimilarity(sim) {
    if (typeof sim !== "number") return "";
    return sim >= 0.99 ? "（相同）" : `（约 ${Math.round(sim * 100)}% 相同）`;
  }

  async function run(params) {
    const q = params.get("q") || "";
    show(errorLine, "");
    show(noticeLine, "");
    clear(results);
    if (!q) {
      statusLine.textContent = "";
      return;
    }
    const from = params.get("date_from");
    const to = params.get("date_to");
    if (from && to && from > to) {
      show(errorLine, "成文日期起不能晚于成文日期止");
      statusLine.textContent = "";
      return;
    }
    const mine = ++seq;
    statusLine.textContent = "正在检索…";
    document.title = `${q} · 检索 · 好办`;
    let res;
    try {
      res = await api("GET", `/api/search?${params}`);
    } catch (err) {
      if (mine !== seq) return;
      statusLine.textContent = "";
      show(errorLine, "检索失败：" + errorText(err));
      return;
    }
    await kbsLoaded; // names for the cards
    if (mine !== seq) return; // a newer search already started
    show(noticeLine, res.notice || "");
    statusLine.textContent = `找到 ${res.hits.length} 条结果 · 用时 ${Math.round(res.took_ms)} 毫秒 · 检索方式：${MODES[res.mode] || res.mode}`;
    if (!res.hits.length) {
      results.append(el("div", { class: "panel empty" },
        el("p", {}, "没有找到相关内容。"),
        el("p", { class: "muted" }, "可尝试：换用更简短的关键词、将效力改为“全部”、减少筛选条件或切换检索方式。")));
      return;
    }
    const listed = new Set();
    for (const hit of res.hits) {
      const doc = hit.citation.document_id;
      results.append(hitCard(hit, !listed.has(doc)));
      listed.add(doc);
    }
  }

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const params = formParams();
    if (!params.get("q")) {
      show(errorLine, "请输入检索内容");
      form.elements.q.focus();
      return;
    }
    const url = `${base}/search?${params}`;
    if (url !== location.pathname + location.search) history.pushState(null, "", url);
    run(params);
  });

  window.addEventListener("popstate", () => {
    const params = new URLSearchParams(location.search);
    fillForm(params);
    run(params);
  });

  // The text fields are filled at once; the checkboxes when the list arrives. Neither waits on the
  // other, and nothing the user types meanwhile is overwritten.
  const initial = new URLSearchParams(location.search);
  fillForm(initial);
  const kbsLoaded = loadKbs().then(() => fillKbs(new URLSearchParams(location.search)));
  if (initial.get("q")) run(initial);
})();
