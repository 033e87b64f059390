// A version's visualizations, served by the same server at their relative `url`: HTML
// sanitised in a sandboxed frame sized to it (see htmlFrame), images as images, Markdown rendered and sanitised (no script, no
// inline style, nothing fetched from elsewhere under the page's policy), JSON/CSV as text.

import DOMPurify from "dompurify";
import { marked } from "marked";
import { AuthError, QueryError, authHeaders, getToken, query, serverUrl } from "./api";
import { attached, h } from "./dom";
import { VISUALIZATIONS, type Visualization } from "./queries";
import { onLeave } from "./route";

const MAX_TEXT = 1_000_000;

async function fetchFile(url: string): Promise<Response> {
  const response = await fetch(url, { headers: authHeaders(), credentials: "same-origin" });
  if (response.status === 401 || response.status === 403) {
    throw new AuthError("The server refused the token for this visualization.");
  }
  if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
  return response;
}

/**
 * What a frame or image should load. Without a token, the server's URL itself, so the file
 * keeps the sandboxing policy the server sends with it. A frame or image cannot send an
 * Authorization header, so with a token the file is fetched here and shown from a blob: URL
 * (the frame stays sandboxed by its `sandbox` attribute and inherits this page's policy).
 */
async function sourceOf(url: string): Promise<string> {
  if (!getToken()) return url;
  const blob = await (await fetchFile(url)).blob();
  const local = URL.createObjectURL(blob);
  onLeave(() => URL.revokeObjectURL(local));
  return local;
}

async function textOf(url: string): Promise<string> {
  const response = await fetchFile(url);
  const text = await response.text();
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}\n… (cut at ${MAX_TEXT} characters)` : text;
}

/** Taller previews stop here, with a button that shows all of it. */
export const FRAME_MAX = 900;
const FRAME_MIN = 60;

/** CSS without anything that would fetch (`@import`, `url(...)`): the frame shows text only. */
function inertCss(css: string): string {
  return css.replace(/@import[^;]*;?/gi, "").replace(/url\s*\([^)]*\)/gi, "none");
}

/**
 * An HTML preview in a frame as tall as its content (up to FRAME_MAX, then "show all").
 *
 * Why this way: the file as the server serves it has `sandbox` in its own policy, so it gets an
 * opaque origin and may run no script. This page can then neither read its height nor receive
 * it (a script inside posting it would need `allow-scripts`, and the server's policy and this
 * page's forbid inline scripts anyway). So the page fetches the HTML, sanitises it with
 * DOMPurify (no script, event handler, form, frame, object, link or base), and writes it into a
 * frame sandboxed with `allow-same-origin` only: without `allow-scripts` nothing in the frame can
 * run, and the shared origin serves one purpose, letting this page measure the content. The
 * frame's document inherits this page's Content-Security-Policy, which allows no inline style,
 * so the preview's `<style>` text and `style` attributes are applied through the CSSOM (a
 * constructed style sheet, `element.style`), with anything that would fetch removed first.
 */
function htmlFrame(url: string, title: string): HTMLElement {
  const frame = h("iframe", {
    sandbox: "allow-same-origin",
    title,
    referrerpolicy: "no-referrer",
    "data-testid": "visualization-frame",
    "data-state": "loading",
  });
  const showAll = h("button", { type: "button", className: "show-all", "data-testid": "visualization-show-all", hidden: true }, "Show all");
  const wrap = h("div", { className: "viz-html" }, frame, showAll);
  let expanded = false;
  const measure = (): void => {
    const doc = frame.contentDocument;
    if (!doc?.documentElement) return;
    const full = Math.max(FRAME_MIN, Math.ceil(doc.documentElement.scrollHeight));
    const height = expanded ? full : Math.min(full, FRAME_MAX);
    frame.style.height = `${height}px`;
    frame.dataset.contentHeight = String(full);
    showAll.hidden = expanded || full <= FRAME_MAX;
    showAll.textContent = `Show all (${full} px)`;
  };
  showAll.addEventListener("click", () => {
    expanded = true;
    measure();
  });
  textOf(url)
    .then(async (text) => {
      // Parsing `<style>` or a `style` attribute, even into an inert document, is checked
      // against this page's policy (and refused, loudly): they are renamed first, their text
      // kept for the CSSOM, and only then sanitised and parsed.
      const renamed = text
        .replace(/<(\/?)style\b/gi, "<$1lq-style")
        .replace(/<[a-z][^>]*>/gi, (tag) => tag.replace(/(\s)style(\s*=)/gi, "$1data-lq-style$2"));
      const sanitised = DOMPurify.sanitize(renamed, {
        WHOLE_DOCUMENT: true,
        FORBID_TAGS: ["script", "style", "form", "input", "button", "textarea", "select", "iframe", "frame", "object", "embed", "link", "meta", "base"],
        FORBID_ATTR: ["style"],
        ADD_TAGS: ["lq-style"],
      });
      const clean = new DOMParser().parseFromString(sanitised, "text/html");
      const css = [...clean.querySelectorAll("lq-style")].map((el) => el.textContent ?? "").join("\n");
      for (const el of clean.querySelectorAll("lq-style")) el.remove();
      const body = clean.body;
      if (!(await attached(frame))) return;
      const doc = frame.contentDocument;
      const win = frame.contentWindow as (Window & typeof globalThis) | null;
      if (!doc || !win) throw new Error("the frame has no document");
      doc.body.replaceWith(doc.importNode(body, true));
      const sheet = new win.CSSStyleSheet();
      sheet.replaceSync(inertCss(css));
      doc.adoptedStyleSheets = [sheet];
      for (const el of doc.querySelectorAll<HTMLElement>("[data-lq-style]")) {
        el.style.cssText = inertCss(el.dataset.lqStyle ?? "");
        el.removeAttribute("data-lq-style");
      }
      for (const img of doc.images) img.addEventListener("load", measure);
      frame.dataset.state = "shown";
      measure();
      const observer = new ResizeObserver(measure);
      observer.observe(frame);
      onLeave(() => observer.disconnect());
    })
    .catch((error: unknown) => {
      wrap.replaceWith(h("p", { className: "muted" }, `Could not load it: ${String(error)}`));
    });
  return wrap;
}

function figure(viz: Visualization, index: number): HTMLElement {
  const type = viz.type.toLowerCase();
  const url = serverUrl(viz.url);
  const name = viz.uri.split("/").pop() || `visualization ${index + 1}`;
  const caption = h(
    "figcaption",
    {},
    `${type}: ${name} `,
    h("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, "open"),
  );
  const fig = h("figure", { className: `viz viz-${type}`, "data-testid": "visualization", "data-type": type });
  if (type === "html") {
    fig.append(htmlFrame(url, `visualization ${index + 1}: ${name}`));
  } else if (type === "image") {
    const el = h("img", { alt: `visualization ${index + 1}: ${name}`, "data-testid": "visualization-image" });
    sourceOf(url)
      .then((src) => {
        el.src = src;
      })
      .catch((error: unknown) => {
        el.replaceWith(h("p", { className: "muted" }, `Could not load it: ${String(error)}`));
      });
    fig.append(el);
  } else if (type === "markdown") {
    const div = h("div", { className: "viz-markdown", "data-testid": "visualization-markdown" }, "Loading…");
    textOf(url)
      .then((text) => {
        const html = marked.parse(text, { async: false, gfm: true });
        div.innerHTML = DOMPurify.sanitize(html, {
          USE_PROFILES: { html: true },
          FORBID_TAGS: ["style", "form", "input", "button", "iframe"],
          FORBID_ATTR: ["style"],
        });
        for (const link of div.querySelectorAll("a")) {
          link.target = "_blank";
          link.rel = "noopener noreferrer";
        }
      })
      .catch((error: unknown) => {
        div.textContent = `Could not load it: ${String(error)}`;
      });
    fig.append(div);
  } else {
    const pre = h("pre", { className: "viz-text", "data-testid": "visualization-text" }, "Loading…");
    textOf(url)
      .then((text) => {
        if (type === "json") {
          try {
            text = JSON.stringify(JSON.parse(text), null, 2);
          } catch {
            // shown as it came
          }
        }
        pre.textContent = text;
      })
      .catch((error: unknown) => {
        pre.textContent = `Could not load it: ${String(error)}`;
      });
    fig.append(pre);
  }
  fig.append(caption);
  return fig;
}

export function visualizationSection(versionId: string): HTMLElement {
  const body = h("div", { className: "viz-list" }, h("p", { className: "muted" }, "Loading…"));
  const sectionEl = h("section", { className: "card", "data-testid": "visualizations" }, h("h2", {}, "Visualizations"), body);
  query<{ artifactVersion: { visualizations: Visualization[] } | null }>(VISUALIZATIONS, { id: versionId })
    .then((data) => {
      const items = data.artifactVersion?.visualizations ?? [];
      body.replaceChildren(
        ...(items.length === 0
          ? [h("p", { className: "muted", "data-testid": "no-visualizations" }, "This version has no visualizations.")]
          : items.map(figure)),
      );
    })
    .catch((error: unknown) => {
      const message =
        error instanceof QueryError && /visualizations/.test(error.message)
          ? "This server does not provide visualizations."
          : `Could not load the visualizations: ${String(error)}`;
      body.replaceChildren(h("p", { className: "muted", "data-testid": "no-visualizations" }, message));
    });
  return sectionEl;
}

const INLINE_MAX = 400;

/**
 * A simple value shown inline: the text of the version's JSON visualization (what the built-in
 * materializer writes for numbers, strings, lists and dicts), when it has one and it is short.
 * Otherwise a pointer to the version page; nothing else is fetched.
 */
export function inlineValue(versionId: string): HTMLElement {
  const el = h("span", { className: "muted", "data-testid": "inline-value", "data-state": "loading" }, "…");
  const none = (why: string): void => {
    el.dataset.state = "none";
    el.textContent = why;
  };
  query<{ artifactVersion: { visualizations: Visualization[] } | null }>(VISUALIZATIONS, { id: versionId })
    .then(async (data) => {
      const json = (data.artifactVersion?.visualizations ?? []).find((v) => v.type === "JSON");
      if (!json) return none("no JSON view (see the version's visualizations)");
      const text = await textOf(serverUrl(json.url));
      let shown = text.trim();
      try {
        shown = JSON.stringify(JSON.parse(text));
      } catch {
        // shown as it came
      }
      if (shown.length > INLINE_MAX) return none("too long to show here (see the version's visualizations)");
      el.className = "";
      el.dataset.state = "shown";
      el.replaceChildren(h("code", { className: "inline-value" }, shown));
    })
    .catch(() => none("not available"));
  return el;
}
