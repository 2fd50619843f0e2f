/* 好办 web console: shared helpers. No framework; every piece of user text goes through textContent. */
"use strict";

const HB = (() => {
  const base = document.body.dataset.base || "";

  class ApiError extends Error {
    constructor(code, message, status, detail) {
      super(message);
      this.code = code;
      this.status = status;
      this.detail = detail;
    }
  }

  const FIELD_NAMES = {
    name: "名称", description: "说明", query: "检索内容", q: "检索内容", date_from: "成文日期起",
    date_to: "成文日期止", validity: "效力", mode: "检索方式", top_k: "条数", text: "正文", title: "标题",
    files: "文件", written_date: "成文日期", publish_date: "发布日期", issuer: "发文机关",
  };

  /** Turn an error body {code, message, detail} into one Chinese sentence for the page. */
  function describe(data, status) {
    if (data && typeof data.message === "string" && data.message) {
      let msg = data.message;
      // Validation errors: name the offending fields in Chinese instead of showing raw detail.
      if (data.code === "INVALID_INPUT" && Array.isArray(data.detail)) {
        const fields = [];
        for (const d of data.detail) {
          const loc = Array.isArray(d.loc) ? d.loc : [];
          const key = [...loc].reverse().find((x) => typeof x === "string" && FIELD_NAMES[x]);
          if (key && !fields.includes(FIELD_NAMES[key])) fields.push(FIELD_NAMES[key]);
        }
        if (fields.length) msg += "：请检查" + fields.join("、");
      }
      return msg;
    }
    if (status === 413) return "文件过大，超过服务器允许的上限";
    if (status >= 500) return `服务器出错（HTTP ${status}），请稍后重试或联系管理员`;
    return `请求失败（HTTP ${status}）`;
  }

  /** The console session's CSRF token (a <meta> tag), sent on every request that changes data. */
  function csrfHeader(method) {
    const meta = document.querySelector('meta[name="csrf-token"]');
    const token = meta && meta.getAttribute("content");
    return token && !["GET", "HEAD"].includes(method) ? { "X-CSRF-Token": token } : {};
  }

  /** fetch wrapper: JSON in and out; throws ApiError with a Chinese message on any failure. */
  async function api(method, path, body) {
    const init = { method, headers: { Accept: "application/json", ...csrfHeader(method) } };
    if (body instanceof FormData) {
      init.body = body;
    } else if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let resp;
    try {
      resp = await fetch(base + path, init);
    } catch (e) {
      throw new ApiError("NETWORK", "无法连接服务器，请检查网络或服务是否运行", 0, null);
    }
    if (resp.status === 204) return null;
    let data = null;
    try {
      data = await resp.json();
    } catch (e) {
      data = null;
    }
    if (!resp.ok) {
      throw new ApiError((data && data.code) || "HTTP_" + resp.status, describe(data, resp.status), resp.status, data && data.detail);
    }
    return data;
  }

  function errorText(err) {
    if (err instanceof ApiError) return err.message;
    return "页面出错：" + (err && err.message ? err.message : String(err));
  }

  /**
   * Build an element. attrs: plain attributes, plus `class`, `text`, `dataset`, `on<event>` handlers.
   * Children: nodes or strings (strings become text nodes, never HTML).
   */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k === "dataset") Object.assign(node.dataset, v);
      else if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    append(node, children);
    return node;
  }

  function append(node, children) {
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  function show(node, text) {
    if (text) {
      node.textContent = text;
      node.hidden = false;
    } else {
      node.textContent = "";
      node.hidden = true;
    }
  }

  /** Server timestamps without a zone are UTC; show them in the browser's local time. */
  function formatTime(value) {
    if (!value) return "";
    const iso = /[zZ]|[+-]\d\d:?\d\d$/.test(value) ? value : value + "Z";
    const d = new Date(iso);
    if (isNaN(d.getTime())) return value;
    const p = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
  }

  /** "2024-01-05" -> "2024年1月5日", the way official documents write dates. */
  function formatDate(value) {
    if (!value) return "";
    const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(value);
    return m ? `${m[1]}年${Number(m[2])}月${Number(m[3])}日` : value;
  }

  const VALIDITY = { current: "现行", repealed: "已废止" };

  function validityBadge(v) {
    return el("span", { class: "badge " + (v === "repealed" ? "badge-gray" : "badge-green"), text: VALIDITY[v] || v });
  }

  /** A small x/y progress bar. */
  function progressBar(ready, total) {
    const pct = total > 0 ? Math.round((ready / total) * 100) : 0;
    return el(
      "span",
      { class: "progress", title: `${ready}/${total}（${pct}%）` },
      el("span", { class: "progress-text", text: `${ready}/${total}` }),
      el("span", { class: "progress-bar", role: "progressbar", "aria-valuemin": 0, "aria-valuemax": total, "aria-valuenow": ready },
        el("span", { class: "progress-fill" + (total > 0 && ready >= total ? " done" : ""), style: `width:${pct}%` })),
    );
  }

  /** Ascending code-point offsets -> UTF-16 offsets, clamped to the end of the text; one pass, no copies. */
  function toUnits(text, points) {
    const out = [];
    let unit = 0;
    let cp = 0;
    let k = 0;
    while (k < points.length) {
      if (points[k] <= cp || unit >= text.length) {
        out.push(unit);
        k += 1;
        continue;
      }
      const c = text.charCodeAt(unit);
      unit += c >= 0xd800 && c <= 0xdbff && unit + 1 < text.length ? 2 : 1;
      cp += 1;
    }
    return out;
  }

  /**
   * Render `text` with the [start, end) spans wrapped in <mark>. Offsets count Unicode code points
   * (as Python does), so characters outside the BMP (rare name characters) do not shift the marks.
   */
  function highlighted(text, spans, markAttrs) {
    text = text || "";
    const ranges = (spans || [])
      .map(([s, e]) => [Math.max(0, s), Math.max(0, e)])
      .filter(([s, e]) => e > s)
      .sort((a, b) => a[0] - b[0]);
    const merged = [];
    for (const r of ranges) {
      const last = merged[merged.length - 1];
      if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
      else merged.push([r[0], r[1]]);
    }
    const units = toUnits(text, merged.flat());
    const frag = document.createDocumentFragment();
    let pos = 0;
    let n = 0;
    for (let i = 0; i < units.length; i += 2) {
      const s = units[i];
      const e = units[i + 1];
      if (e <= s) continue; // span beyond the end of the text
      if (s > pos) frag.append(text.slice(pos, s));
      const attrs = typeof markAttrs === "function" ? markAttrs(n) : markAttrs;
      frag.append(el("mark", attrs || {}, text.slice(s, e)));
      n += 1;
      pos = e;
    }
    if (pos < text.length) frag.append(text.slice(pos));
    return frag;
  }

  // 顶栏“退出”：结束会话后回到首页。
  document.addEventListener("DOMContentLoaded", () => {
    const logout = document.getElementById("logout");
    if (!logout) return;
    logout.addEventListener("click", async () => {
      try {
        await api("POST", "/api/auth/logout");
      } finally {
        window.location.assign(base + "/");
      }
    });
  });

  let healthCache = null;
  /** /api/health, fetched once per page. */
  function health() {
    if (!healthCache) healthCache = api("GET", "/api/health").catch(() => null);
    return healthCache;
  }

  return { base, api, csrfHeader, ApiError, errorText, el, append, clear, show, formatTime, formatDate, VALIDITY, validityBadge, progressBar, highlighted, toUnits, health };
})();
