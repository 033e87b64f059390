// Pieces several pages share: links to steps and runs, metadata tables, load-more buttons.

import { h } from "./dom";
import type { PageInfo, StepRef } from "./queries";
import { links } from "./route";

export function stepLink(step: StepRef, testid = "step-link"): HTMLElement {
  return h(
    "span",
    {},
    h("a", { href: links.step(step.id), "data-testid": testid }, step.name),
    " in run ",
    h("a", { href: links.run(step.run.id) }, step.run.name),
    ` (${step.run.pipeline.name})`,
  );
}

/** Metadata and parameters: a key/value table; nested values as indented JSON. */
export function valueTable(value: unknown, testid: string): HTMLElement {
  if (value === null || value === undefined) return h("p", { className: "muted" }, "none");
  if (typeof value !== "object" || Array.isArray(value)) {
    return h("pre", { className: "json", "data-testid": testid }, JSON.stringify(value, null, 2));
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return h("p", { className: "muted", "data-testid": testid }, "none");
  return h(
    "table",
    { className: "kv", "data-testid": testid },
    h(
      "tbody",
      {},
      entries.map(([key, item]) =>
        h(
          "tr",
          {},
          h("th", { scope: "row" }, key),
          h(
            "td",
            {},
            typeof item === "string"
              ? item
              : typeof item === "object" && item !== null
                ? h("pre", { className: "json" }, JSON.stringify(item, null, 2))
                : String(item),
          ),
        ),
      ),
    ),
  );
}

/** A "load more" button that calls `more(after)` until the connection has no next page. */
export function loadMore(
  pageInfo: PageInfo,
  more: (after: string) => Promise<PageInfo>,
): HTMLElement {
  const button = h("button", { type: "button", "data-testid": "load-more" }, "Load more");
  const wrap = h("p", { className: "load-more" }, button);
  let info = pageInfo;
  wrap.hidden = !info.hasNextPage;
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      info = await more(info.endCursor ?? "");
    } finally {
      button.disabled = false;
    }
    wrap.hidden = !info.hasNextPage;
  });
  return wrap;
}

export function section(title: string, testid: string, ...body: (Node | string)[]): HTMLElement {
  return h("section", { className: "card", "data-testid": testid }, h("h2", {}, title), ...body);
}
