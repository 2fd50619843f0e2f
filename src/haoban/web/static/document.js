/* 原文：元数据 + 全文；?start=&end= 指定的引用段落用 <mark id="cited"> 标出并滚动到可见处。 */
"use strict";

(() => {
  const { api, el, clear, show, errorText, formatDate, formatTime, validityBadge, highlighted, base } = HB;
  const docId = document.getElementById("doc").dataset.docId;
  const textBox = document.getElementById("doc-text");
  const errorLine = document.getElementById("doc-error");
  const FORMATS = { pdf: "PDF", docx: "Word", ofd: "OFD", html: "网页", txt: "纯文本", md: "Markdown", text: "粘贴文本", faq: "问答对" };

  function citedSpan(length) {
    const params = new URLSearchParams(location.search);
    if (!params.has("start") || !params.has("end")) return null;
    const start = Number(params.get("start"));
    const end = Number(params.get("end"));
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end <= start || start >= length) return null;
    return [start, Math.min(end, length)];
  }

  function metaItem(dl, label, value) {
    if (value === null || value === undefined || value === "") return;
    dl.append(el("div", { class: "meta-item" }, el("dt", {}, label), el("dd", {}, value)));
  }

  /** Only plain web links become clickable; anything else (javascript:, data:) stays text. */
  function safeLink(url) {
    return /^https?:\/\//i.test(url) ? el("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, url) : url;
  }

  function render(doc) {
    document.title = `${doc.title} · 好办`;
    document.getElementById("doc-title").textContent = doc.title;
    const number = document.getElementById("doc-number");
    number.textContent = doc.doc_number || "";
    number.hidden = !doc.doc_number;
    const dl = clear(document.getElementById("doc-meta"));
    const faq = doc.format === "faq";
    metaItem(dl, faq ? "部门" : "发文机关", doc.issuer);
    if (faq && doc.aliases && doc.aliases.length) metaItem(dl, "相似问题", doc.aliases.join("；"));
    metaItem(dl, "成文日期", formatDate(doc.written_date));
    metaItem(dl, "发布日期", formatDate(doc.publish_date));
    metaItem(dl, "效力", validityBadge(doc.validity));
    metaItem(dl, "标签", doc.tags && doc.tags.length ? doc.tags.join("、") : "");
    metaItem(dl, "格式", FORMATS[doc.format] || doc.format);
    metaItem(dl, "字数", String(doc.char_count));
    metaItem(dl, "段落数", String(doc.chunk_count));
    // A file ingested from the server's disk has a full path as its source; the file name is enough here.
    const source = faq ? doc.source.replace(/^faq:/, "").split("#")[0] : doc.source.replace(/^(upload|text):/, "");
    const sourceName = doc.source.startsWith("text:") ? source : source.split(/[\\/]/).pop() || source;
    metaItem(dl, "来源", el("span", { title: source }, sourceName));
    metaItem(dl, "入库时间", formatTime(doc.updated_at || doc.created_at));
    if (doc.url) metaItem(dl, "原文链接", safeLink(doc.url));

    clear(textBox);
    // Offsets are in code points, like the server; only split the text when a span was asked for.
    const span = doc.text.length ? citedSpan(doc.text.length) : null;
    if (span) {
      textBox.append(highlighted(doc.text, [span], { id: "cited", tabindex: "-1" }));
      const mark = document.getElementById("cited");
      if (mark) {
        document.getElementById("cite-note").hidden = false;
        mark.scrollIntoView({ block: "center" });
        mark.focus({ preventScroll: true });
      }
    } else {
      textBox.textContent = doc.text || "（本文档没有文字内容）";
    }
  }

  async function loadKbCrumb(kbId) {
    const crumb = document.getElementById("crumb-kb");
    crumb.href = `${base}/kbs/${encodeURIComponent(kbId)}`;
    try {
      const kb = await api("GET", `/api/kbs/${encodeURIComponent(kbId)}`);
      crumb.textContent = kb.name;
    } catch (err) {
      crumb.textContent = "所属知识库";
    }
  }

  (async () => {
    let doc;
    try {
      doc = await api("GET", `/api/documents/${encodeURIComponent(docId)}`);
    } catch (err) {
      textBox.textContent = "";
      show(errorLine, errorText(err));
      return;
    }
    render(doc);
    loadKbCrumb(doc.kb_id);
  })();
})();
