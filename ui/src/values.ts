// Simple values shown inline, on the version page and in lists. A bool, int or float has its
// text in the metadata the built-in materializer extracts when saving (`string_representation`,
// as ZenML records it); a short str is read from its Markdown view (the text itself), one small
// request, only when its recorded length is short. Anything else shows nothing here.

import { authHeaders, serverUrl } from "./api";
import { h } from "./dom";

/** The fields of a version this needs (any query that lists versions can ask for them). */
export const VALUE_FIELDS = "dataType metadata visualizations { type url }";

export interface ValueSource {
  dataType: string;
  metadata: unknown;
  visualizations?: { type: string; url: string }[];
}

const SHORT_STR = 80;

function meta(v: ValueSource): Record<string, unknown> {
  return typeof v.metadata === "object" && v.metadata !== null ? (v.metadata as Record<string, unknown>) : {};
}

/** Whether `simpleValue` has something to show for this version. */
export function hasSimpleValue(v: ValueSource): boolean {
  const m = meta(v);
  if (typeof m.string_representation === "string") return true;
  return v.dataType === "builtins:str" && typeof m.length === "number" && m.length <= SHORT_STR && Boolean(markdownOf(v));
}

function markdownOf(v: ValueSource): string | undefined {
  return v.visualizations?.find((viz) => viz.type === "MARKDOWN")?.url;
}

/** The value as inline code (a str quoted), or null when it is not a simple one. */
export function simpleValue(v: ValueSource, testid = "simple-value"): HTMLElement | null {
  const m = meta(v);
  if (typeof m.string_representation === "string") {
    return h("code", { className: "inline-value", "data-testid": testid, "data-type": v.dataType }, m.string_representation);
  }
  const url = markdownOf(v);
  if (!hasSimpleValue(v) || !url) return null;
  const el = h("code", { className: "inline-value", "data-testid": testid, "data-type": v.dataType, "data-state": "loading" }, "…");
  fetch(serverUrl(url), { headers: authHeaders(), credentials: "same-origin" })
    .then(async (response) => {
      if (!response.ok) throw new Error(String(response.status));
      el.textContent = `“${await response.text()}”`;
      el.dataset.state = "shown";
    })
    .catch(() => {
      el.textContent = "?";
      el.dataset.state = "failed";
    });
  return el;
}

/** ` = value` after a version's link, or nothing. */
export function valueAfter(v: ValueSource): (string | HTMLElement)[] {
  const value = simpleValue(v);
  return value ? [" = ", value] : [];
}
