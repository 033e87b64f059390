// Entry point: the token field in the header, and a hash router that renders one page at a time.

import "./style.css";
import { AuthError, QueryError, getToken, graphqlUrl, setToken } from "./api";
import { h } from "./dom";
import { artifactPage } from "./pages/artifact";
import { comparePage } from "./pages/compare";
import { pipelinePage, pipelinesPage } from "./pages/pipelines";
import { runPage } from "./pages/run";
import { runsPage } from "./pages/runs";
import { searchPage } from "./pages/search";
import { stepPage } from "./pages/step";
import { versionPage } from "./pages/version";
import { currentRoute, leave, type Route } from "./route";

type Page = (main: HTMLElement, route: Route) => Promise<void>;

function pick(route: Route): Page | null {
  const [first, second, ...rest] = route.path;
  if (rest.length > 0) return null;
  if (first === undefined) return searchPage;
  const lists = new Map<string, Page>([
    ["runs", runsPage],
    ["pipelines", pipelinesPage],
    ["compare", comparePage],
  ]);
  if (second === undefined) return lists.get(first) ?? null;
  const pages = new Map<string, Page>([
    ["pipelines", pipelinePage],
    ["artifacts", artifactPage],
    ["versions", versionPage],
    ["runs", runPage],
    ["steps", stepPage],
  ]);
  return pages.get(first) ?? null;
}

const main = document.getElementById("main") as HTMLElement;
const banner = document.getElementById("banner") as HTMLElement;
const tokenForm = document.getElementById("token-form") as HTMLFormElement;
const tokenInput = document.getElementById("token-input") as HTMLInputElement;
const tokenState = document.getElementById("token-state") as HTMLElement;
let generation = 0;

function showTokenState(): void {
  tokenState.textContent = getToken() ? "token set for this browser session" : "";
  tokenState.dataset.state = getToken() ? "set" : "none";
}

function showError(error: unknown): void {
  if (error instanceof AuthError) {
    banner.hidden = false;
    banner.replaceChildren(
      h("strong", {}, error.rejected ? "Token rejected: " : "Authentication needed: "),
      error.rejected
        ? "the server did not accept the saved token. Enter another in the field at the top right, then Save."
        : "enter an API token in the field at the top right, then Save.",
    );
    tokenState.textContent = error.rejected ? "token rejected by the server" : "";
    tokenState.dataset.state = error.rejected ? "rejected" : "needed";
    main.replaceChildren(
      h(
        "div",
        { className: "card prompt", "data-testid": "auth-required", "data-rejected": error.rejected ? "true" : "false" },
        h("h1", { "data-testid": "auth-title" }, error.rejected ? "The server rejected the token" : "A token is needed"),
        h("p", {}, error.message),
        h("p", {}, "The token stays in this browser tab's session storage and is sent only to ", h("code", {}, graphqlUrl), "."),
      ),
    );
    tokenInput.focus();
    return;
  }
  const notFound = error instanceof QueryError && error.code === "NOT_FOUND";
  main.replaceChildren(
    h(
      "div",
      { className: "card error", "data-testid": notFound ? "not-found" : "page-error" },
      h("h1", {}, notFound ? "Not found" : "Something went wrong"),
      h("p", {}, error instanceof Error ? error.message : String(error)),
      h("p", {}, h("a", { href: "#/" }, "Back to the artifacts")),
    ),
  );
}

async function render(): Promise<void> {
  const mine = ++generation;
  leave();
  const route = currentRoute();
  const page = pick(route);
  banner.hidden = true;
  main.setAttribute("aria-busy", "true");
  main.replaceChildren(h("p", { className: "muted", "data-testid": "loading" }, "Loading…"));
  const target = h("div", { className: "page" });
  try {
    if (!page) throw new QueryError(`There is no page at “${location.hash}”.`, "NOT_FOUND");
    await page(target, route);
    if (mine !== generation) return;
    main.replaceChildren(target);
    const title = target.querySelector("h1")?.textContent;
    document.title = title ? `${title} · LineageQL explorer` : "LineageQL explorer";
  } catch (error) {
    if (mine === generation) showError(error);
  } finally {
    if (mine === generation) main.removeAttribute("aria-busy");
  }
}

tokenForm.addEventListener("submit", (event) => {
  event.preventDefault();
  setToken(tokenInput.value.trim());
  tokenInput.value = "";
  tokenInput.placeholder = getToken() ? "•••••• (saved)" : "not set";
  showTokenState();
  void render();
});
document.getElementById("token-clear")?.addEventListener("click", () => {
  setToken("");
  tokenInput.value = "";
  tokenInput.placeholder = "not set";
  showTokenState();
  void render();
});
tokenInput.placeholder = getToken() ? "•••••• (saved)" : "not set";
showTokenState();
window.addEventListener("hashchange", () => {
  void render();
});
void render();
