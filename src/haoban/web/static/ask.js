/*
 * 政策问答：对话式问答。回答以 SSE 流式返回（POST 请求，故用 fetch + ReadableStream 自行解析，
 * EventSource 只能 GET）；收到 done 后按权威的 answer 重新渲染：[n] 变成可点的引用编号，点开即在
 * 回答下方显示原文段落（作答句子以 <mark> 标出）。会话 ID 在地址栏 ?c= 中，刷新后对话仍在。
 * 所有文字都经 textContent / 文本节点写入，不拼接 HTML。
 */
"use strict";

(() => {
  const { api, ApiError, el, clear, show, errorText, formatTime, highlighted, base } = HB;
  const form = document.getElementById("ask-form");
  const input = document.getElementById("question");
  const sendBtn = document.getElementById("send");
  const thread = document.getElementById("thread");
  const welcome = document.getElementById("welcome");
  const errorLine = document.getElementById("ask-error");
  const statusLine = document.getElementById("ask-status");
  const kbSelect = document.getElementById("kb-select");
  const convList = document.getElementById("conv-list");
  const convError = document.getElementById("conv-error");
  const charCount = document.getElementById("char-count");
  const MAX_CHARS = Number(form.dataset.maxChars) || 500;
  const PAGE_TITLE = "政策问答 · 好办";

  const MODES = { extractive: "原文摘录", generative: "智能生成", refusal: "未找到依据" };
  const NETWORK_ERROR = "无法连接服务器，请检查网络或服务是否运行";

  const state = {
    conversationId: null,
    busy: false,
    controller: null, // AbortController of the answer being streamed
    loadSeq: 0, // guards against a slow conversation load finishing after the user moved on
  };

  // ---- address bar -----------------------------------------------------------------------------

  function urlFor(id) {
    return id ? `${base}/ask?c=${encodeURIComponent(id)}` : `${base}/ask`;
  }

  /** Remember the current conversation; how: "push", "replace" or null (leave the address alone). */
  function setConversation(id, how) {
    state.conversationId = id;
    const url = urlFor(id);
    if (how && url !== location.pathname + location.search) {
      if (how === "push") history.pushState(null, "", url);
      else history.replaceState(null, "", url);
    }
    markActive();
  }

  // ---- the stream --------------------------------------------------------------------------------

  /** A failed response -> ApiError with the server's Chinese message (never the raw body). */
  async function responseError(resp) {
    let data = null;
    try {
      data = await resp.json();
    } catch (e) {
      data = null;
    }
    if (data && typeof data.message === "string" && data.message) {
      return new ApiError(data.code || "HTTP_" + resp.status, data.message, resp.status, data.detail);
    }
    const msg = resp.status >= 500 ? `服务器出错（HTTP ${resp.status}），请稍后重试或联系管理员` : `请求失败（HTTP ${resp.status}）`;
    return new ApiError("HTTP_" + resp.status, msg, resp.status, null);
  }

  /**
   * POST /api/qa/ask with stream=true and call onEvent(name, data) for each Server-Sent Event.
   * Input errors (empty question, unknown conversation …) arrive before the stream as a JSON error:
   * they are thrown as ApiError. Errors after the stream started arrive as an "error" event.
   */
  async function askStream(body, onEvent, signal) {
    let resp;
    try {
      resp = await fetch(base + "/api/qa/ask", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "text/event-stream", ...HB.csrfHeader("POST") },
        body: JSON.stringify({ ...body, stream: true }),
        signal,
      });
    } catch (e) {
      if (e && e.name === "AbortError") throw e;
      throw new ApiError("NETWORK", NETWORK_ERROR, 0, null);
    }
    if (!resp.ok) throw await responseError(resp);
    if (!(resp.headers.get("content-type") || "").includes("text/event-stream") || !resp.body) {
      onEvent("done", { answer: await resp.json(), replaced: false }); // a plain JSON answer
      return;
    }

    const dispatch = (block) => {
      let name = "message";
      const data = [];
      for (const line of block.split(/\r?\n/)) {
        if (!line || line.startsWith(":")) continue; // blank or comment
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? "" : line.slice(colon + 1);
        if (value.startsWith(" ")) value = value.slice(1);
        if (field === "event") name = value;
        else if (field === "data") data.push(value);
      }
      if (!data.length) return;
      let payload;
      try {
        payload = JSON.parse(data.join("\n"));
      } catch (e) {
        throw new ApiError("BAD_STREAM", "服务器返回的内容无法识别，请重试", 0, null);
      }
      onEvent(name, payload);
    };

    const reader = resp.body.getReader();
    const decoder = new TextDecoder("utf-8");
    let buffer = "";
    const drain = () => {
      let m;
      while ((m = /\r?\n\r?\n/.exec(buffer))) {
        const block = buffer.slice(0, m.index);
        buffer = buffer.slice(m.index + m[0].length);
        dispatch(block);
      }
    };
    for (;;) {
      let chunk;
      try {
        chunk = await reader.read();
      } catch (e) {
        if (e && e.name === "AbortError") throw e;
        throw new ApiError("NETWORK", "与服务器的连接中断", 0, null);
      }
      if (chunk.done) break;
      buffer += decoder.decode(chunk.value, { stream: true });
      drain();
    }
    buffer += decoder.decode();
    drain();
    if (buffer.trim()) dispatch(buffer);
  }

  // ---- rendering ---------------------------------------------------------------------------------

  function headingPath(path) {
    return (path || "").split(/\s*>\s*/).filter(Boolean).join(" › ");
  }

  /** A question–answer pair is named by its question (问：…), a document by its title in 《》. */
  function citeTitle(c) {
    return c.faq ? "问：" + c.title : bookTitle(c.title);
  }

  function bookTitle(title) {
    if (!title) return "（无标题）";
    return title.startsWith("《") ? title : `《${title}》`;
  }

  function nearBottom() {
    return window.innerHeight + window.scrollY >= document.documentElement.scrollHeight - 160;
  }

  function toBottom() {
    window.scrollTo(0, document.documentElement.scrollHeight);
  }

  /** A question and the place its answer goes. */
  function exchange(question) {
    const status = el("p", { class: "answer-wait" }, el("span", { class: "dots", "aria-hidden": "true" }), "正在查找依据…");
    const text = el("div", { class: "answer-text streaming" });
    const bubble = el("div", { class: "bubble answer" }, status, text);
    const bot = el("div", { class: "msg msg-bot" }, el("span", { class: "avatar", "aria-hidden": "true" }, "办"), bubble);
    const node = el(
      "div",
      { class: "exchange" },
      el("div", { class: "msg msg-user" }, el("div", { class: "bubble question" }, question)),
      bot,
    );
    return { node, bot, bubble, text, status, question, raw: "" };
  }

  /** The text so far; [n] already looks like a citation, though it opens nothing until the answer is checked. */
  function streamingText(box, raw) {
    clear(box);
    let pos = 0;
    for (const m of raw.matchAll(/\[(\d+)\]/g)) {
      if (m.index > pos) box.append(raw.slice(pos, m.index));
      box.append(el("span", { class: "cite-chip pending" }, m[1]));
      pos = m.index + m[0].length;
    }
    if (pos < raw.length) box.append(raw.slice(pos));
  }

  function confidenceMeter(value) {
    const pct = Math.round(Math.max(0, Math.min(1, Number(value) || 0)) * 100);
    const [word, level] = pct >= 70 ? ["高", "high"] : pct >= 40 ? ["中", "mid"] : ["低", "low"];
    const fill = el("span", { class: "conf-fill" });
    fill.style.width = pct + "%";
    return el(
      "span",
      { class: "confidence conf-" + level, title: `依据充分度 ${pct}%（越高说明知识库中的依据越充分）` },
      "依据充分度",
      el("span", { class: "conf-bar", role: "meter", "aria-label": "依据充分度", "aria-valuemin": 0, "aria-valuemax": 100, "aria-valuenow": pct }, fill),
      el("span", { class: "conf-text" }, `${word} ${pct}%`),
    );
  }

  function answerHead(answer) {
    const head = el("div", { class: "answer-head" });
    if (answer.faq) head.append(el("span", { class: "answer-mode mode-faq", title: "提问与知识库中的问答对相符，回答就是该问答对的答案" }, "问答对"));
    else head.append(el("span", { class: "answer-mode mode-" + answer.mode }, MODES[answer.mode] || answer.mode));
    const tone = answer.intent === "投诉" ? "badge-red" : "badge-blue";
    head.append(el("span", { class: `badge ${tone} intent-tag`, title: "诉求类型" }, "诉求类型：" + answer.intent));
    if (answer.mode !== "refusal") head.append(confidenceMeter(answer.confidence));
    return head;
  }

  /** Where an answer taken whole from a question–answer pair comes from: its standard question (and the similar one matched). */
  function faqSource(faq) {
    const line = el("p", { class: "answer-faq" }, "来自问答对：", el("strong", {}, faq.question));
    if (faq.matched && faq.matched !== faq.question) line.append(el("span", { class: "muted" }, `（与相似问法“${faq.matched}”相符）`));
    if (!faq.complete) line.append(el("span", { class: "muted" }, "，答复较长，仅显示开头部分"));
    return line;
  }

  /** The answer text, one paragraph per line, with [n] turned into citation buttons. */
  function answerText(text, cites, open) {
    const box = el("div", { class: "answer-text" });
    for (const line of (text || "").split("\n")) {
      if (!line.trim()) continue;
      const p = el("p");
      let pos = 0;
      for (const m of line.matchAll(/\[(\d+)\]/g)) {
        const c = cites.get(Number(m[1]));
        if (!c) continue; // not a citation we know: leave the text as it is
        if (m.index > pos) p.append(line.slice(pos, m.index));
        p.append(
          el("button", {
            type: "button",
            class: "cite-chip",
            dataset: { n: String(c.n) },
            title: [citeTitle(c), headingPath(c.heading_path)].filter(Boolean).join(" "),
            "aria-label": `查看引用${c.n}：${citeTitle(c)}`,
            "aria-expanded": "false",
            onclick: () => open(c.n),
          }, String(c.n)),
        );
        pos = m.index + m[0].length;
      }
      if (pos < line.length) p.append(line.slice(pos));
      box.append(p);
    }
    return box;
  }

  function citationList(citations, open) {
    const list = el("ol", { class: "cite-list" });
    for (const c of citations) {
      const path = headingPath(c.heading_path);
      list.append(
        el("li", {},
          el("button", { type: "button", class: "cite-item", dataset: { n: String(c.n) }, "aria-expanded": "false", onclick: () => open(c.n) },
            el("span", { class: "cite-num" }, String(c.n)),
            el("span", { class: "cite-title" }, citeTitle(c)),
            c.doc_number ? el("span", { class: "cite-docno" }, c.doc_number) : null,
            path ? el("span", { class: "cite-path" }, path) : null)),
      );
    }
    return el("div", { class: "cites" }, el("p", { class: "cites-label" }, "依据文件"), list);
  }

  /** Show citation c in the answer's inline panel, or close the panel when c is already shown. */
  function toggleCitation(bubble, panel, c) {
    if (!c) return;
    const closing = !panel.hidden && panel.dataset.n === String(c.n);
    for (const b of bubble.querySelectorAll(".cite-chip, .cite-item")) {
      const on = !closing && b.dataset.n === String(c.n);
      b.classList.toggle("active", on);
      b.setAttribute("aria-expanded", on ? "true" : "false");
    }
    clear(panel);
    if (closing) {
      panel.hidden = true;
      delete panel.dataset.n;
      return;
    }
    panel.dataset.n = String(c.n);
    const href = `${base}/documents/${encodeURIComponent(c.document_id)}?start=${c.start}&end=${c.end}`;
    const meta = [c.issuer, headingPath(c.heading_path)].filter(Boolean).join(" · ");
    panel.append(
      el("div", { class: "cite-panel-head" },
        el("span", { class: "cite-num" }, String(c.n)),
        el("span", { class: "cite-panel-title" }, citeTitle(c)),
        c.doc_number ? el("span", { class: "cite-docno" }, c.doc_number) : null,
        el("button", { type: "button", class: "cite-close", title: "收起", "aria-label": "收起原文段落", onclick: () => toggleCitation(bubble, panel, c) }, "×")),
      meta ? el("p", { class: "cite-panel-meta" }, meta) : null,
      el("blockquote", { class: "cite-passage" }, highlighted(c.passage, c.highlights)),
      el("div", { class: "cite-panel-foot" },
        el("span", { class: "muted" }, c.highlights && c.highlights.length ? "黄色标出的是回答所依据的句子" : "所引原文段落"),
        el("a", { class: "btn btn-plain btn-sm view-source", href, target: "_blank", rel: "noopener" }, "查看原文")),
    );
    panel.hidden = false;
    panel.scrollIntoView({ block: "nearest" });
  }

  function refusalBox(answer) {
    const box = el("div", { class: "refusal-box" });
    if (answer.suggestions && answer.suggestions.length) {
      box.append(
        el("p", { class: "refusal-label" }, "您可以参考以下文件，或换个说法再问："),
        el("ul", { class: "suggestions" }, answer.suggestions.map((s) => el("li", {}, s))),
      );
    }
    box.append(
      el("p", { class: "handoff" },
        el("span", { class: "handoff-tag" }, "转人工"),
        el("span", {}, "如需进一步咨询，可拨打 ", el("strong", {}, "12345"), " 政务服务便民热线，由工作人员为您解答。")),
    );
    return box;
  }

  function feedbackBar(messageId, helpful) {
    let current = helpful === true || helpful === false ? helpful : null;
    const yes = el("button", { type: "button", class: "btn btn-plain btn-sm fb-yes", "aria-pressed": "false" }, "有用");
    const no = el("button", { type: "button", class: "btn btn-plain btn-sm fb-no", "aria-pressed": "false" }, "无用");
    const thanks = el("span", { class: "feedback-thanks", role: "status" });
    const error = el("span", { class: "error-inline feedback-error", hidden: true });
    const comment = el("input", { type: "text", maxlength: 1000, "aria-label": "补充意见（选填）" });
    const commentForm = el("form", { class: "feedback-comment", hidden: true },
      comment, el("button", { type: "submit", class: "btn btn-sm" }, "提交"));
    const bar = el("div", { class: "feedback" },
      el("div", { class: "feedback-row" }, el("span", { class: "feedback-ask" }, "这个回答对您有帮助吗？"), yes, no, thanks, error),
      commentForm);

    const paint = () => {
      for (const [button, value] of [[yes, true], [no, false]]) {
        button.classList.toggle("chosen", current === value);
        button.setAttribute("aria-pressed", String(current === value));
      }
      bar.classList.toggle("rated", current !== null);
    };

    async function post(value, text) {
      yes.disabled = true;
      no.disabled = true;
      show(error, "");
      try {
        await api("POST", `/api/qa/messages/${encodeURIComponent(messageId)}/feedback`, { helpful: value, comment: text || "" });
      } catch (err) {
        show(error, "反馈提交失败：" + errorText(err));
        return false;
      } finally {
        yes.disabled = false;
        no.disabled = false;
      }
      current = value;
      paint();
      return true;
    }

    const rate = async (value) => {
      if (!(await post(value, ""))) return;
      thanks.textContent = "感谢您的反馈！";
      comment.placeholder = value ? "补充意见（选填）" : "哪里不满意？告诉我们以便改进（选填）";
      commentForm.hidden = false;
    };
    yes.addEventListener("click", () => rate(true));
    no.addEventListener("click", () => rate(false));
    commentForm.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const text = comment.value.trim();
      if (!text) {
        commentForm.hidden = true;
        return;
      }
      if (await post(current, text)) {
        thanks.textContent = "已收到您的补充意见，感谢！";
        comment.value = "";
        commentForm.hidden = true;
      }
    });

    if (current !== null) thanks.textContent = `已反馈“${current ? "有用" : "无用"}”，感谢！`;
    paint();
    return bar;
  }

  /** Replace the pending bubble of `ex` with the complete answer. */
  function renderAnswer(ex, answer, opts) {
    const { bubble, bot } = ex;
    const stick = nearBottom();
    clear(bubble);
    const refusal = answer.mode === "refusal";
    bot.classList.toggle("msg-refusal", refusal);
    bot.classList.remove("msg-error");
    bubble.dataset.messageId = answer.message_id;
    bubble.dataset.mode = answer.mode;

    bubble.append(answerHead(answer));
    if (answer.rewritten_question && answer.rewritten_question !== answer.question) {
      bubble.append(el("p", { class: "answer-rewritten" }, "结合上文，按“", answer.rewritten_question, "”理解作答"));
    }
    if (answer.faq) bubble.append(faqSource(answer.faq));
    const cites = new Map((answer.citations || []).map((c) => [c.n, { ...c, faq: !!answer.faq && c.document_id === answer.faq.document_id }]));
    const panel = el("div", { class: "cite-panel", hidden: true, role: "region", "aria-label": "引用原文段落" });
    const open = (n) => toggleCitation(bubble, panel, cites.get(n));
    bubble.append(answerText(answer.text, cites, open), panel);
    if (cites.size) bubble.append(citationList([...cites.values()], open));
    if (refusal) bubble.append(refusalBox(answer));

    if (opts.replaced) {
      bubble.append(el("p", { class: "answer-note answer-replaced" }, "大模型生成的回答未通过引用核验，已替换为政策原文摘录。"));
    }
    const notices = (answer.notice || "").split("；").filter((n) => n && !(opts.replaced && n.includes("引用核验")));
    for (const n of notices) bubble.append(el("p", { class: "answer-note" }, n));

    if (answer.related_questions && answer.related_questions.length) {
      bubble.append(
        el("div", { class: "related" },
          el("span", { class: "related-label" }, "您可能还想问"),
          answer.related_questions.map((q) =>
            el("button", { type: "button", class: "related-chip", disabled: state.busy, onclick: () => ask(q) }, q))),
      );
    }
    bubble.append(feedbackBar(answer.message_id, opts.helpful));
    if (stick) toBottom();
  }

  function failAnswer(ex, message) {
    ex.status.remove();
    ex.text.classList.remove("streaming");
    if (!ex.text.textContent) ex.text.remove();
    ex.bot.classList.add("msg-error");
    ex.bubble.append(
      el("p", { class: "error answer-error", role: "alert" }, message),
      el("p", { class: "answer-retry" },
        el("button", { type: "button", class: "btn btn-plain btn-sm", onclick: () => ask(ex.question) }, "重新提问")),
    );
  }

  // ---- asking ------------------------------------------------------------------------------------

  function setBusy(on) {
    state.busy = on;
    sendBtn.disabled = on;
    sendBtn.textContent = on ? "回答中…" : "发送";
    thread.setAttribute("aria-busy", on ? "true" : "false");
    statusLine.textContent = on ? "正在回答…" : "";
    for (const b of thread.querySelectorAll(".related-chip, .answer-retry button")) b.disabled = on;
  }

  function abortCurrent() {
    if (state.controller) {
      state.controller.abort();
      state.controller = null;
      setBusy(false);
    }
  }

  async function ask(question) {
    if (state.busy) return;
    state.loadSeq += 1; // a conversation still loading is not drawn over this question
    show(errorLine, "");
    const kb = kbSelect.value;
    const body = { question, kbs: kb ? [kb] : null, conversation_id: state.conversationId };
    const ex = exchange(question);
    // An empty question is still sent: the server's message is the one shown.
    if (question.trim()) {
      welcome.hidden = true;
      thread.append(ex.node);
      toBottom();
    }
    const controller = new AbortController();
    state.controller = controller;
    setBusy(true);
    let started = false;
    let finished = false;
    let newConversation = false;
    try {
      await askStream(body, (name, data) => {
        if (controller.signal.aborted) return;
        if (name === "meta") {
          started = true;
          if (!ex.node.isConnected) {
            welcome.hidden = true;
            thread.append(ex.node);
          }
          if (data.conversation_id && data.conversation_id !== state.conversationId) {
            newConversation = !state.conversationId;
            setConversation(data.conversation_id, state.conversationId ? "push" : "replace");
            if (newConversation) document.title = `${data.question || question} · ${PAGE_TITLE}`;
          }
          ex.status.lastChild.textContent = "正在作答…";
        } else if (name === "delta") {
          const stick = nearBottom();
          ex.status.hidden = true;
          ex.raw += data.text || "";
          streamingText(ex.text, ex.raw);
          if (stick) toBottom();
        } else if (name === "done") {
          finished = true;
          renderAnswer(ex, data.answer, { replaced: !!data.replaced, helpful: null });
        } else if (name === "error") {
          finished = true;
          failAnswer(ex, (data && data.message) || "回答失败，请稍后重试");
        }
      }, controller.signal);
      if (!finished && !controller.signal.aborted) failAnswer(ex, "回答中断，请重新提问");
    } catch (err) {
      if (controller.signal.aborted || (err && err.name === "AbortError")) return; // the user moved on
      if (!started) {
        ex.node.remove();
        if (!thread.childElementCount) welcome.hidden = false;
        if (!input.value) input.value = question;
        updateCount();
        show(errorLine, errorText(err));
        input.focus();
      } else {
        failAnswer(ex, "回答中断：" + errorText(err));
      }
    } finally {
      if (state.controller === controller) {
        state.controller = null;
        setBusy(false);
      }
    }
    if (started) loadConversations();
  }

  // ---- conversations -----------------------------------------------------------------------------

  function markActive() {
    for (const li of convList.querySelectorAll("li.conv")) {
      const on = li.dataset.id === state.conversationId;
      li.classList.toggle("active", on);
      const link = li.querySelector("a");
      if (on) link.setAttribute("aria-current", "true");
      else link.removeAttribute("aria-current");
    }
  }

  async function loadConversations() {
    let items;
    try {
      items = await api("GET", "/api/qa/conversations?limit=50");
    } catch (err) {
      show(convError, "历史对话加载失败：" + errorText(err));
      return;
    }
    show(convError, "");
    clear(convList);
    if (!items.length) {
      convList.append(el("li", { class: "conv-empty muted" }, "还没有对话"));
      return;
    }
    for (const c of items) {
      const title = c.title || "（无标题）";
      const link = el("a", {
        class: "conv-open",
        href: urlFor(c.id),
        title,
        onclick: (ev) => {
          if (ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.button !== 0) return; // new tab etc.
          ev.preventDefault();
          if (c.id !== state.conversationId || !thread.childElementCount) openConversation(c.id, "push");
        },
      },
      el("span", { class: "conv-title" }, title),
      el("span", { class: "conv-meta" }, `${formatTime(c.updated_at)} · ${c.message_count} 问`));
      const del = el("button", { type: "button", class: "conv-del", title: "删除该对话", "aria-label": `删除对话：${title}`, onclick: () => removeConversation(c.id, title) }, "×");
      convList.append(el("li", { class: "conv", dataset: { id: c.id } }, link, del));
    }
    markActive();
  }

  async function removeConversation(id, title) {
    if (!confirm(`确定删除对话“${title}”吗？删除后无法恢复。`)) return;
    try {
      await api("DELETE", `/api/qa/conversations/${encodeURIComponent(id)}`);
    } catch (err) {
      show(convError, "删除失败：" + errorText(err));
      return;
    }
    if (id === state.conversationId) startNew("replace");
    loadConversations();
  }

  function selectKb(kbs) {
    kbsLoaded.then(() => {
      const refs = kbs || [];
      const match = refs.length === 1
        ? [...kbSelect.options].find((o) => o.value && (o.value === refs[0] || o.dataset.name === refs[0]))
        : null;
      kbSelect.value = match ? match.value : "";
    });
  }

  async function openConversation(id, how) {
    abortCurrent();
    const mine = ++state.loadSeq;
    clear(thread);
    show(errorLine, "");
    welcome.hidden = true;
    statusLine.textContent = "正在加载对话…";
    let conv;
    try {
      conv = await api("GET", `/api/qa/conversations/${encodeURIComponent(id)}`);
    } catch (err) {
      if (mine !== state.loadSeq) return;
      statusLine.textContent = "";
      welcome.hidden = false;
      setConversation(null, "replace");
      show(errorLine, "无法打开对话：" + errorText(err));
      return;
    }
    if (mine !== state.loadSeq) return;
    statusLine.textContent = "";
    setConversation(conv.id, how);
    selectKb(conv.kbs);
    document.title = `${conv.title} · ${PAGE_TITLE}`;
    for (const m of conv.messages) {
      const ex = exchange(m.question);
      thread.append(ex.node);
      renderAnswer(ex, m.answer, { replaced: false, helpful: m.helpful });
    }
    welcome.hidden = conv.messages.length > 0;
    toBottom();
  }

  function startNew(how) {
    abortCurrent();
    state.loadSeq += 1;
    clear(thread);
    welcome.hidden = false;
    show(errorLine, "");
    setConversation(null, how);
    document.title = PAGE_TITLE;
    input.focus();
  }

  // ---- composer ----------------------------------------------------------------------------------

  function updateCount() {
    const n = [...input.value.trim()].length;
    charCount.textContent = `${n}/${MAX_CHARS}`;
    charCount.classList.toggle("over", n > MAX_CHARS);
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight + 2, 220) + "px";
  }

  input.addEventListener("input", updateCount);
  input.addEventListener("keydown", (ev) => {
    // Enter sends; Shift+Enter is a new line; Enter that confirms an IME composition (拼音) is neither.
    if (ev.key !== "Enter" || ev.shiftKey || ev.isComposing || ev.keyCode === 229) return;
    ev.preventDefault();
    if (!state.busy) form.requestSubmit();
  });
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    if (state.busy) return;
    const question = input.value;
    input.value = "";
    updateCount();
    ask(question);
  });
  document.getElementById("new-chat").addEventListener("click", () => startNew("push"));
  window.addEventListener("popstate", () => {
    const id = new URLSearchParams(location.search).get("c");
    if (id) openConversation(id, null);
    else startNew(null);
  });

  async function loadKbs() {
    let kbs;
    try {
      kbs = await api("GET", "/api/kbs");
    } catch (err) {
      show(errorLine, "知识库列表加载失败：" + errorText(err));
      return;
    }
    for (const kb of kbs) kbSelect.append(el("option", { value: kb.id, dataset: { name: kb.name } }, kb.name));
  }

  const kbsLoaded = loadKbs();
  loadConversations();
  const initial = new URLSearchParams(location.search).get("c");
  if (initial) openConversation(initial, null);
  else input.focus();
  updateCount();
})();
