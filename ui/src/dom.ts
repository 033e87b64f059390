// A tiny element builder. Text always goes through text nodes, never through innerHTML, so
// names, metadata and errors from the server cannot inject markup.

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === "function") {
      el.addEventListener(key.replace(/^on/, "").toLowerCase(), value);
    } else if (key === "className") {
      el.className = String(value);
    } else if (value === true) {
      el.setAttribute(key, "");
    } else {
      el.setAttribute(key, String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(el: Element, children: (Child | Child[])[]): void {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(el: Element): void {
  el.replaceChildren();
}

/** A definition list of label/value rows; rows with an empty value are left out. */
export function facts(rows: [string, Child | Child[]][], testid?: string): HTMLDListElement {
  const dl = h("dl", { className: "facts", "data-testid": testid });
  for (const [label, value] of rows) {
    if (value === null || value === undefined || value === "" || value === false) continue;
    dl.append(h("dt", {}, label), h("dd", {}, value));
  }
  return dl;
}

export { formatUtc as formatDate } from "./time";

/** As `lineageql artifacts list` prints sizes: `512 B`, `1.5 KB`, `3.2 MB` (steps of 1024). */
export function formatBytes(size: number | string | null | undefined): string {
  if (size === null || size === undefined || size === "") return "";
  let value = Number(size);
  if (!Number.isFinite(value)) return String(size);
  const units = ["B", "KB", "MB", "GB", "TB"];
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(1)} ${units[unit]}`;
}

export function statusBadge(status: string, testid = "status"): HTMLSpanElement {
  return h(
    "span",
    { className: `badge status-${status.toLowerCase()}`, "data-testid": testid },
    status,
  );
}

/** A version's aliases as `@production` badges. */
export function aliasBadges(aliases: string[], testid = "aliases"): HTMLElement {
  return h(
    "span",
    { className: "aliases", "data-testid": testid },
    aliases.map((alias) => h("span", { className: "alias", "data-alias": alias }, `@${alias}`)),
  );
}

export function tagList(tags: string[]): HTMLElement {
  if (tags.length === 0) return h("span", { className: "muted" }, "no tags");
  return h(
    "span",
    { className: "tags", "data-testid": "tags" },
    tags.map((tag) =>
      h("a", { className: "tag", href: `#/?tag=${encodeURIComponent(tag)}` }, tag),
    ),
  );
}

/** Resolves once `el` is in the document (pages are built detached, then swapped in). */
export function attached(el: Element, frames = 600): Promise<boolean> {
  return new Promise((resolve) => {
    const check = (left: number): void => {
      if (el.isConnected) resolve(true);
      else if (left <= 0) resolve(false);
      else requestAnimationFrame(() => check(left - 1));
    };
    check(frames);
  });
}
