// A version's visualizations, served by the same server at their relative `url`: HTML in a
// fully sandboxed frame, images as images, Markdown rendered and sanitised (no script, no
// inline style, nothing fetched from elsewhere under the page's policy), JSON/CSV as text.

import DOMPurify from "dompurify";
import { marked } from "marked";
import { AuthError, QueryError, authHeaders, getToken, query, serverUrl } from "./api";
import { h } from "./dom";
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
  if (type === "html" || type === "image") {
    const el =
      type === "html"
        ? h("iframe", {
            sandbox: "",
            title: `visualization ${index + 1}: ${name}`,
            referrerpolicy: "no-referrer",
            "data-testid": "visualization-frame",
          })
        : h("img", { alt: `visualization ${index + 1}: ${name}`, "data-testid": "visualization-image" });
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
