/* 知识库列表：列出、新建、删除。 */
"use strict";

(() => {
  const { api, el, clear, show, errorText, formatTime, progressBar, health, base } = HB;
  const rows = document.getElementById("kb-rows");
  const listError = document.getElementById("list-error");
  const createError = document.getElementById("create-error");
  const form = document.getElementById("create-form");
  const embedNote = document.getElementById("embed-note");
  let hasEmbedder = true;
  let pollTimer = null;

  function vectorCell(kb) {
    if (!hasEmbedder) return el("span", { class: "muted", title: "未配置向量模型" }, "未启用");
    return progressBar(kb.vector_ready, kb.chunk_count);
  }

  function row(kb) {
    const del = el("button", { class: "btn btn-danger btn-sm", type: "button", onclick: () => remove(kb) }, "删除");
    return el(
      "tr",
      { dataset: { kbId: kb.id } },
      el("td", {}, el("a", { href: `${base}/kbs/${encodeURIComponent(kb.id)}`, class: "strong" }, kb.name)),
      el("td", { class: "num" }, String(kb.document_count)),
      el("td", { class: "num" }, String(kb.chunk_count)),
      el("td", {}, vectorCell(kb)),
      el("td", { class: "desc" }, kb.description || ""),
      el("td", { class: "nowrap" }, formatTime(kb.created_at)),
      el("td", {}, del),
    );
  }

  async function load() {
    let kbs;
    try {
      kbs = await api("GET", "/api/kbs");
    } catch (err) {
      show(listError, "知识库列表加载失败：" + errorText(err));
      return;
    }
    show(listError, "");
    clear(rows);
    if (!kbs.length) {
      rows.append(el("tr", {}, el("td", { colspan: 7, class: "empty" }, "还没有知识库，请先在上方新建。")));
    }
    for (const kb of kbs) rows.append(row(kb));
    // While vectors are being filled in the background, refresh the counts now and then.
    const pending = hasEmbedder && kbs.some((kb) => kb.vector_ready < kb.chunk_count);
    clearTimeout(pollTimer);
    if (pending) pollTimer = setTimeout(load, 5000);
  }

  async function remove(kb) {
    const ok = window.confirm(`确定删除知识库“${kb.name}”吗？\n库中 ${kb.document_count} 篇文档及其索引将一并删除，且不可恢复。`);
    if (!ok) return;
    try {
      await api("DELETE", `/api/kbs/${encodeURIComponent(kb.id)}`);
    } catch (err) {
      show(listError, "删除失败：" + errorText(err));
      return;
    }
    await load();
  }

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const name = form.elements.name.value.trim();
    const description = form.elements.description.value.trim();
    if (!name) {
      show(createError, "请填写知识库名称");
      return;
    }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      await api("POST", "/api/kbs", { name, description });
      show(createError, "");
      form.reset();
      await load();
    } catch (err) {
      show(createError, errorText(err));
    } finally {
      button.disabled = false;
    }
  });

  document.getElementById("refresh").addEventListener("click", load);

  health().then((h) => {
    hasEmbedder = !h || !!h.embedder;
    if (h && !h.embedder) show(embedNote, "当前未配置向量模型：检索仅使用关键词匹配。");
    load();
  });
})();
