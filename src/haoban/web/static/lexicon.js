/* 敏感词库：类别的处理方式、词条查询与增删、文本检测（命中处以 <mark> 标出）。 */
"use strict";

(() => {
  const { api, el, clear, show, errorText, highlighted } = HB;
  const ACTION = { block: "拦截", mask: "打码", review: "人工复核" };
  const DECISION = { pass: "通过", mask: "打码后可用", review: "需人工复核", block: "拦截" };
  const error = document.getElementById("lex-error");
  const canWrite = Boolean(document.getElementById("term-form"));
  const fail = (e) => show(error, errorText(e));

  async function loadCategories() {
    const cats = await api("GET", "/api/lexicon/categories");
    const body = document.querySelector("#cat-table tbody");
    clear(body);
    for (const c of cats) {
      let action = document.createTextNode(ACTION[c.action] || c.action);
      if (canWrite) {
        action = el("select", { "aria-label": `${c.name}的处理方式` }, ...Object.entries(ACTION).map(([k, v]) => el("option", { value: k }, v)));
        action.value = c.action;
        action.addEventListener("change", async () => {
          try {
            await api("PUT", `/api/lexicon/categories/${encodeURIComponent(c.name)}`, { action: action.value });
          } catch (e) {
            fail(e);
          }
        });
      }
      body.append(el("tr", {}, el("td", {}, c.name), el("td", { class: "num" }, String(c.term_count)), el("td", {}, action), el("td", { class: "desc" }, c.description || "")));
    }
    for (const select of document.querySelectorAll(".cat-select")) {
      const keep = select.options[0];
      clear(select);
      select.append(keep, ...cats.map((c) => el("option", { value: c.name }, c.name)));
    }
    const list = document.getElementById("cat-names");
    if (list) {
      clear(list);
      list.append(...cats.map((c) => el("option", { value: c.name })));
    }
  }

  async function loadTerms() {
    const f = new FormData(document.getElementById("term-filter"));
    const params = new URLSearchParams({ limit: "100" });
    for (const k of ["category", "kind", "q"]) if (f.get(k)) params.set(k, f.get(k).trim());
    const page = await api("GET", "/api/lexicon/terms?" + params);
    const body = document.querySelector("#term-table tbody");
    clear(body);
    for (const t of page.items) {
      const cells = [el("td", {}, t.term), el("td", {}, t.kind === "allow" ? "白名单" : "敏感词"), el("td", {}, t.category || "（全部）"),
        el("td", {}, t.flags.join(", ")), el("td", {}, t.source || "")];
      const remove = el("button", { class: "btn btn-sm btn-danger", type: "button" }, "删除");
      remove.disabled = !canWrite;
      remove.addEventListener("click", async () => {
        if (!window.confirm(`删除词条“${t.term}”？`)) return;
        try {
          await api("DELETE", `/api/lexicon/terms/${encodeURIComponent(t.id)}`);
          await Promise.all([loadTerms(), loadCategories()]);
        } catch (e) {
          fail(e);
        }
      });
      body.append(el("tr", {}, ...cells, el("td", {}, remove)));
    }
    if (!page.items.length) body.append(el("tr", {}, el("td", { colspan: "6", class: "empty" }, "没有符合条件的词条")));
    document.getElementById("term-total").textContent = `共 ${page.total} 条，显示 ${page.items.length} 条`;
  }

  document.getElementById("term-filter").addEventListener("submit", (ev) => {
    ev.preventDefault();
    loadTerms().catch(fail);
  });

  if (canWrite) {
    document.getElementById("term-form").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const f = new FormData(ev.target);
      try {
        await api("POST", "/api/lexicon/terms", {
          term: f.get("term").trim(), kind: f.get("kind"), category: f.get("category").trim(), flags: f.get("pinyin") ? ["pinyin"] : [],
        });
        ev.target.reset();
        show(error, "");
        await Promise.all([loadTerms(), loadCategories()]);
      } catch (e) {
        fail(e);
      }
    });
  }

  const importForm = document.getElementById("import-form");
  if (importForm) {
    importForm.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const body = new FormData(importForm);
      if (!body.get("category")) body.delete("category");
      const button = importForm.querySelector("button");
      button.disabled = true;
      try {
        const r = await api("POST", "/api/lexicon/import", body);
        document.getElementById("import-result").textContent = `已导入：新增 ${r.added} 条（文件共 ${r.total} 条）`;
        show(error, "");
        importForm.reset();
        await Promise.all([loadTerms(), loadCategories()]);
      } catch (e) {
        fail(e);
      } finally {
        button.disabled = false;
      }
    });
  }

  document.getElementById("check-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const text = new FormData(ev.target).get("text");
    const out = document.getElementById("check-result");
    clear(out);
    try {
      const r = await api("POST", "/api/lexicon/check", { text });
      out.append(el("p", { class: "decision decision-" + r.decision }, `结论：${DECISION[r.decision] || r.decision}（命中 ${r.total_matches} 处）`));
      out.append(el("p", { class: "check-text" }, highlighted(text, r.matches.map((m) => [m.start, m.end]))));
      for (const m of r.matches) out.append(el("p", { class: "muted" }, `“${m.text}” → ${m.term}（${m.category}，${ACTION[m.action] || m.action}，${m.variant}）`));
    } catch (e) {
      fail(e);
    }
  });

  Promise.all([loadCategories(), loadTerms()]).catch(fail);
})();
