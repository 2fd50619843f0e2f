/* 知识库详情：文档列表（分页、按标题筛选）、上传、粘贴文本、导入问答对、效力切换、删除、向量进度、旧索引升级进度。 */
"use strict";

(() => {
  const { api, el, clear, show, errorText, formatDate, validityBadge, progressBar, health, base } = HB;
  const kbId = document.getElementById("kb-head").dataset.kbId;
  const kbPath = `/api/kbs/${encodeURIComponent(kbId)}`;
  const PAGE_SIZE = 20;
  const STATUS = { added: "新增", replaced: "替换", unchanged: "未变化", failed: "失败" };
  const STATUS_CLASS = { added: "badge-green", replaced: "badge-blue", updated: "badge-blue", unchanged: "badge-gray", failed: "badge-red" };

  const rows = document.getElementById("doc-rows");
  const listError = document.getElementById("list-error");
  const pageInfo = document.getElementById("page-info");
  const prevBtn = document.getElementById("prev-page");
  const nextBtn = document.getElementById("next-page");
  const progressLine = document.getElementById("embed-progress");
  const upgradeLine = document.getElementById("index-upgrade");
  let offset = 0;
  let total = 0;
  let filter = "";
  let hasEmbedder = true;
  let progressTimer = null;
  let lastReady = null; // vectors ready in this knowledge base when the page data was last loaded
  let wasPending = false;

  // ---- header -------------------------------------------------------------------------------
  async function loadKb() {
    try {
      const kb = await api("GET", kbPath);
      lastReady = kb.vector_ready; // what the document table was loaded with, for pollProgress
      document.getElementById("kb-title").textContent = kb.name;
      document.getElementById("crumb-kb").textContent = kb.name;
      const desc = document.getElementById("kb-desc");
      desc.textContent = `${kb.description ? kb.description + " · " : ""}共 ${kb.document_count} 篇文档，${kb.chunk_count} 个段落`;
    } catch (err) {
      show(listError, errorText(err));
    }
  }

  // ---- document list ------------------------------------------------------------------------
  function vectorCell(doc) {
    if (!hasEmbedder) return el("span", { class: "muted", title: "未配置向量模型，可用关键词检索" }, "已入库");
    return progressBar(doc.vector_ready || 0, doc.chunk_count);
  }

  function row(doc) {
    const toggleTo = doc.validity === "repealed" ? "current" : "repealed";
    const toggle = el(
      "button",
      { class: "btn btn-plain btn-sm", type: "button", onclick: () => setValidity(doc, toggleTo) },
      toggleTo === "repealed" ? "设为已废止" : "设为现行",
    );
    const del = el("button", { class: "btn btn-danger btn-sm", type: "button", onclick: () => removeDoc(doc) }, "删除");
    return el(
      "tr",
      { dataset: { docId: doc.id } },
      el("td", { class: "title-cell" },
        doc.format === "faq" ? el("span", { class: "qa-mark", title: "问答对" }, "问") : null,
        el("a", { href: `${base}/documents/${encodeURIComponent(doc.id)}`, class: "strong doc-link" }, doc.title)),
      el("td", {}, doc.doc_number || ""),
      el("td", {}, doc.issuer || ""),
      el("td", { class: "nowrap" }, formatDate(doc.written_date)),
      el("td", { class: "nowrap" }, validityBadge(doc.validity)),
      el("td", { class: "num" }, String(doc.chunk_count)),
      el("td", {}, vectorCell(doc)),
      el("td", { class: "actions" }, toggle, del),
    );
  }

  async function loadDocs() {
    const params = new URLSearchParams({ offset: String(offset), limit: String(PAGE_SIZE) });
    if (filter) params.set("q", filter);
    let page;
    try {
      page = await api("GET", `${kbPath}/documents?${params}`);
    } catch (err) {
      show(listError, "文档列表加载失败：" + errorText(err));
      return;
    }
    show(listError, "");
    total = page.total;
    // Deleting the last document on the last page: step back a page.
    if (!page.items.length && offset > 0 && total > 0) {
      offset = Math.max(0, Math.floor((total - 1) / PAGE_SIZE) * PAGE_SIZE);
      return loadDocs();
    }
    clear(rows);
    if (!page.items.length) {
      const msg = filter ? `没有标题包含“${filter}”的文档。` : "本库还没有文档，请在上方上传文件或粘贴文本。";
      rows.append(el("tr", {}, el("td", { colspan: 8, class: "empty" }, msg)));
    }
    for (const doc of page.items) rows.append(row(doc));
    const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
    const current = Math.floor(offset / PAGE_SIZE) + 1;
    pageInfo.textContent = `共 ${total} 篇，第 ${current}/${pages} 页`;
    prevBtn.disabled = offset <= 0;
    nextBtn.disabled = offset + PAGE_SIZE >= total;
  }

  async function refreshAll() {
    await Promise.all([loadKb(), loadDocs()]);
    pollProgress();
  }

  async function setValidity(doc, validity) {
    try {
      await api("PATCH", `/api/documents/${encodeURIComponent(doc.id)}`, { validity });
    } catch (err) {
      show(listError, "修改效力失败：" + errorText(err));
      return;
    }
    await loadDocs();
  }

  async function removeDoc(doc) {
    if (!window.confirm(`确定删除文档“${doc.title}”吗？删除后不可恢复。`)) return;
    try {
      await api("DELETE", `/api/documents/${encodeURIComponent(doc.id)}`);
    } catch (err) {
      show(listError, "删除失败：" + errorText(err));
      return;
    }
    await refreshAll();
  }

  prevBtn.addEventListener("click", () => {
    offset = Math.max(0, offset - PAGE_SIZE);
    loadDocs();
  });
  nextBtn.addEventListener("click", () => {
    if (offset + PAGE_SIZE < total) offset += PAGE_SIZE;
    loadDocs();
  });
  document.getElementById("filter-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    filter = document.getElementById("filter-q").value.trim();
    offset = 0;
    loadDocs();
  });

  // ---- ingest outcome -----------------------------------------------------------------------
  function sourceName(source) {
    return String(source || "").replace(/^(upload|text):/, "");
  }

  function renderReport(container, report) {
    clear(container);
    const parts = [];
    for (const key of ["added", "replaced", "unchanged", "failed"]) {
      if (report[key]) parts.push(`${STATUS[key]} ${report[key]} 篇`);
    }
    container.append(el("p", { class: "summary" }, `${parts.join("，") || "没有处理任何文件"}；共 ${report.chunks} 个段落，用时 ${report.seconds.toFixed(1)} 秒`));
    const list = el("ul", { class: "outcomes" });
    for (const f of report.files) {
      const item = el(
        "li",
        { class: "outcome outcome-" + f.status },
        el("span", { class: "badge " + STATUS_CLASS[f.status] }, STATUS[f.status] || f.status),
        " ",
        el("span", { class: "outcome-name" }, sourceName(f.source)),
      );
      if (f.status === "failed") item.append(el("div", { class: "outcome-msg" }, f.message || "处理失败"));
      else if (f.document_id) {
        item.append(" ", el("a", { href: `${base}/documents/${encodeURIComponent(f.document_id)}`, class: "muted" }, `${f.chunks} 个段落，查看`));
      }
      list.append(item);
    }
    container.append(list);
  }

  const fileInput = document.getElementById("upload-files");
  const chosen = document.getElementById("upload-chosen");
  function showChosen() {
    const names = Array.from(fileInput.files, (f) => f.name);
    if (!names.length) chosen.textContent = "未选择文件";
    else if (names.length <= 3) chosen.textContent = `已选择：${names.join("、")}`;
    else chosen.textContent = `已选择 ${names.length} 个文件：${names.slice(0, 3).join("、")} 等`;
  }
  fileInput.addEventListener("change", showChosen);

  const uploadForm = document.getElementById("upload-form");
  const uploadError = document.getElementById("upload-error");
  const uploadResult = document.getElementById("upload-result");
  uploadForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const input = document.getElementById("upload-files");
    if (!input.files.length) {
      show(uploadError, "请先选择要上传的文件");
      return;
    }
    const data = new FormData();
    for (const f of input.files) data.append("files", f, f.name);
    const validity = uploadForm.elements.validity.value;
    if (validity) data.append("validity", validity);
    const tags = uploadForm.elements.tags.value.trim();
    if (tags) data.append("tags", tags.replace(/，/g, ","));
    const button = document.getElementById("upload-btn");
    button.disabled = true;
    show(uploadError, "");
    clear(uploadResult).append(el("p", { class: "muted" }, `正在上传并解析 ${input.files.length} 个文件…`));
    try {
      const report = await api("POST", `${kbPath}/documents`, data);
      renderReport(uploadResult, report);
      input.value = "";
      showChosen();
      offset = 0;
      await refreshAll();
    } catch (err) {
      clear(uploadResult);
      show(uploadError, "上传失败：" + errorText(err));
    } finally {
      button.disabled = false;
    }
  });

  const textForm = document.getElementById("text-form");
  const textError = document.getElementById("text-error");
  const textResult = document.getElementById("text-result");
  textForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const title = textForm.elements.title.value.trim();
    const text = textForm.elements.text.value;
    if (!title || !text.trim()) {
      show(textError, "请填写标题和正文");
      return;
    }
    const button = textForm.querySelector("button[type=submit]");
    button.disabled = true;
    show(textError, "");
    try {
      const report = await api("POST", `${kbPath}/texts`, { text, meta: { title } });
      renderReport(textResult, report);
      if (!report.failed) textForm.reset();
      offset = 0;
      await refreshAll();
    } catch (err) {
      show(textError, "保存失败：" + errorText(err));
    } finally {
      button.disabled = false;
    }
  });

  // ---- question–answer pairs (问答对) ---------------------------------------------------------
  const FAQ_STATUS = { added: "新增", updated: "更新", unchanged: "未变化", failed: "失败" };
  const FAQ_FIELDS = { question: "问题", answer: "答案", similar: "相似问题", category: "分类", department: "部门", date: "日期" };
  const faqForm = document.getElementById("faq-form");
  const faqFile = document.getElementById("faq-file");
  const faqChosen = document.getElementById("faq-chosen");
  const faqError = document.getElementById("faq-error");
  const faqResult = document.getElementById("faq-result");
  faqFile.addEventListener("change", () => {
    faqChosen.textContent = faqFile.files.length ? `已选择：${faqFile.files[0].name}` : "未选择文件";
  });

  function place(sheet, row) {
    return `${sheet ? `工作表“${sheet}”` : ""}第 ${row} 行`;
  }

  function renderFaqReport(report) {
    clear(faqResult);
    const parts = [`新增 ${report.added}`, `更新 ${report.updated}`, `未变化 ${report.unchanged}`];
    if (report.removed) parts.push(`删除 ${report.removed}`);
    if (report.skipped) parts.push(`跳过 ${report.skipped} 行`);
    if (report.failed) parts.push(`失败 ${report.failed}`);
    faqResult.append(el("p", { class: "summary" }, `问答对 ${report.pairs} 个：${parts.join("，")}；用时 ${report.seconds.toFixed(1)} 秒`));
    for (const sh of report.sheets) {
      const cols = Object.entries(sh.columns).map(([k, v]) => `${FAQ_FIELDS[k] || k}＝${v}`).join("，");
      faqResult.append(el("p", { class: "muted faq-sheet" }, `${sh.name ? `工作表“${sh.name}”：` : ""}${sh.rows} 行；识别的列：${cols}`));
    }
    for (const ig of report.ignored_sheets) {
      faqResult.append(el("p", { class: "muted" }, `已跳过工作表“${ig.sheet}”：没有问题列和答案列`));
    }
    if (report.missing) {
      faqResult.append(el("p", { class: "note faq-missing" },
        `以前从“${report.file}”导入的 ${report.missing} 个问答对已不在文件中，仍保留在知识库里；如需删除，勾选“删除……”后重新导入。`));
    }
    if (report.notice) faqResult.append(el("p", { class: "note" }, report.notice));
    if (report.skipped_rows.length) {
      const list = el("ul", { class: "outcomes faq-skipped" });
      for (const k of report.skipped_rows) {
        list.append(el("li", { class: "outcome outcome-skipped" }, el("span", { class: "badge badge-gray" }, "跳过"), " ",
          `${place(k.sheet, k.row)}：${k.reason}${k.question ? `（${k.question}）` : ""}`));
      }
      faqResult.append(list);
    }
    const changed = report.items.filter((o) => o.status !== "unchanged");
    const list = el("ul", { class: "outcomes faq-items" });
    for (const o of changed.slice(0, 200)) {
      const item = el("li", { class: "outcome outcome-" + o.status },
        el("span", { class: "badge " + (STATUS_CLASS[o.status] || "badge-blue") }, FAQ_STATUS[o.status] || o.status), " ");
      if (o.document_id) item.append(el("a", { href: `${base}/documents/${encodeURIComponent(o.document_id)}` }, o.question));
      else item.append(el("span", {}, o.question));
      item.append(el("span", { class: "muted" }, `（${place(o.sheet, o.row)}）`));
      if (o.status === "failed") item.append(el("div", { class: "outcome-msg" }, o.message || "处理失败"));
      list.append(item);
    }
    if (changed.length > 200) list.append(el("li", { class: "muted" }, `……共 ${changed.length} 个有变化的问答对`));
    faqResult.append(list);
  }

  faqForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!faqFile.files.length) {
      show(faqError, "请先选择问答对文件");
      return;
    }
    const data = new FormData();
    data.append("file", faqFile.files[0], faqFile.files[0].name);
    for (const name of ["sheet", "question_column", "answer_column", "similar_column", "category_column", "department_column", "date_column"]) {
      const v = faqForm.elements[name].value.trim();
      if (v) data.append(name, v);
    }
    if (faqForm.elements.remove_missing.checked) data.append("remove_missing", "true");
    const button = document.getElementById("faq-btn");
    button.disabled = true;
    show(faqError, "");
    clear(faqResult).append(el("p", { class: "muted" }, `正在导入“${faqFile.files[0].name}”…`));
    try {
      renderFaqReport(await api("POST", `${kbPath}/faq`, data));
      offset = 0;
      await refreshAll();
    } catch (err) {
      clear(faqResult);
      show(faqError, "导入失败：" + errorText(err));
    } finally {
      button.disabled = false;
    }
  });

  // ---- embedding progress -------------------------------------------------------------------
  async function pollProgress() {
    clearTimeout(progressTimer);
    if (!hasEmbedder) {
      show(progressLine, "当前未配置向量模型：本库仅支持关键词检索。");
      return;
    }
    let p;
    try {
      p = await api("GET", `/api/embeddings/progress?kb=${encodeURIComponent(kbId)}`);
    } catch (err) {
      show(progressLine, "");
      return;
    }
    // Refresh the per-document x/y column whenever more vectors became ready, and once at the end.
    const finished = wasPending && p.pending === 0;
    if (finished || (lastReady !== null && p.ready !== lastReady)) {
      lastReady = p.ready;
      loadKb();
      loadDocs();
    }
    wasPending = p.pending > 0;
    if (p.pending > 0) {
      const suffix = p.running ? "" : "（后台向量任务未运行，暂时只能按关键词检索）";
      show(progressLine, `向量索引补齐中：${p.ready}/${p.total}${suffix}`);
      progressTimer = setTimeout(pollProgress, p.running ? 3000 : 10000);
    } else {
      show(progressLine, "");
    }
  }

  // ---- keyword index in an older format: rebuilt in the background, search goes on meanwhile ----
  let upgradeTimer = null;
  let wasUpgrading = false;
  async function pollUpgrade() {
    clearTimeout(upgradeTimer);
    let p;
    try {
      p = await api("GET", `${kbPath}/index-upgrade`);
    } catch (err) {
      // A failed poll (network, navigation) must not end the display: ask again a little later.
      upgradeTimer = setTimeout(pollUpgrade, 10000);
      return;
    }
    if (p.outdated) {
      wasUpgrading = true;
      let text;
      if (p.error) text = `关键词索引升级出错，稍后自动重试（${p.error}）；检索照常使用旧版索引。`;
      else if (p.total) text = `关键词索引正在后台升级：${p.done}/${p.total} 个段落已重新分词；升级期间检索照常，使用旧版索引。`;
      else text = "关键词索引正在后台升级；升级期间检索照常，使用旧版索引。";
      show(upgradeLine, text);
      upgradeTimer = setTimeout(pollUpgrade, p.error ? 15000 : 3000);
    } else {
      show(upgradeLine, wasUpgrading ? "关键词索引升级完成。" : "");
    }
  }

  health().then((h) => {
    hasEmbedder = !h || !!h.embedder;
    refreshAll();
    pollUpgrade();
  });
})();
