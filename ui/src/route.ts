// Hash routes: `#/artifacts/NAME`, `#/versions/ID?direction=UPSTREAM&depth=3`, ... The server
// serves one page; the path after `#` picks what it shows.

export interface Route {
  path: string[];
  params: URLSearchParams;
}

export function currentRoute(): Route {
  const raw = location.hash.replace(/^#/, "");
  const [pathPart, queryPart = ""] = raw.split("?", 2);
  const path = pathPart
    .split("/")
    .filter(Boolean)
    .map((segment) => decodeURIComponent(segment));
  return { path, params: new URLSearchParams(queryPart) };
}

export function href(path: string[], params: Record<string, string> = {}): string {
  const query = new URLSearchParams(
    Object.entries(params).filter(([, value]) => value !== ""),
  ).toString();
  return `#/${path.map(encodeURIComponent).join("/")}${query ? `?${query}` : ""}`;
}

/** Changes the query of the current route without a navigation (no hashchange event). */
export function replaceParams(params: Record<string, string>): void {
  const { path } = currentRoute();
  history.replaceState(history.state, "", href(path, params));
}

export const links = {
  search: (q = "", tag = "", defaults = false) => href([], { q, tag, defaults: defaults ? "1" : "" }),
  artifact: (name: string) => href(["artifacts", name]),
  version: (id: string) => href(["versions", id]),
  run: (id: string) => href(["runs", id]),
  step: (id: string) => href(["steps", id]),
  runs: () => href(["runs"]),
  pipelines: () => href(["pipelines"]),
  pipeline: (name: string) => href(["pipelines", name]),
  compare: (a: string, b: string) => href(["compare"], { a, b }),
};

const leaving: (() => void)[] = [];

/** Registers work to undo when the next page replaces this one (e.g. a graph to destroy). */
export function onLeave(cleanup: () => void): void {
  leaving.push(cleanup);
}

export function leave(): void {
  for (const cleanup of leaving.splice(0)) cleanup();
}
