// GraphiQL, bundled with its explorer plugin and React, served by LineageQL at GET /graphql:
// no file comes from a CDN. Queries go to this same URL; the API token kept by the lineage
// explorer (sessionStorage) is sent unless the headers editor sets an Authorization header.

import { explorerPlugin } from "@graphiql/plugin-explorer";
import "@graphiql/plugin-explorer/style.css";
import { GraphiQL } from "graphiql";
import "graphiql/style.css";
import { createElement } from "react";
import { createRoot } from "react-dom/client";
import { getToken, setToken } from "../token";
import "./style.css";

const endpoint = `${location.origin}${location.pathname}`;

const DEFAULT_QUERY = `# LineageQL: artifacts, versions, runs and the lineage between them.
# Ctrl-Enter runs the query. The Explorer (left) builds queries from the schema; the
# API token field above (shared with the lineage explorer) is sent as a Bearer token.

query Upstream($name: String = "iris_dataset") {
  artifactVersion(name: $name) {
    name
    version
    producer { name status run { name } }
    upstream(depth: 3) {
      nodes {
        __typename
        ... on ArtifactVersion { name version }
        ... on StepRun { name status }
      }
      edges { source target kind name }
    }
  }
}
`;

const tokenInput = document.getElementById("token-input") as HTMLInputElement;
const tokenState = document.getElementById("token-state") as HTMLElement;

type TokenState = "ok" | "needed" | "rejected";

function showToken(state: TokenState = "ok"): void {
  tokenInput.placeholder = getToken() ? "•••••• (saved)" : "not set";
  tokenState.classList.toggle("rejected", state !== "ok");
  tokenState.dataset.state = state;
  tokenState.textContent =
    state === "rejected"
      ? "the server rejected this token"
      : state === "needed"
        ? "the server needs a token: enter one"
        : getToken()
          ? "token set for this browser session"
          : "";
}

document.getElementById("token-form")?.addEventListener("submit", (event) => {
  event.preventDefault();
  setToken(tokenInput.value.trim());
  tokenInput.value = "";
  showToken();
});
document.getElementById("token-clear")?.addEventListener("click", () => {
  setToken("");
  tokenInput.value = "";
  showToken();
});
showToken();

interface FetcherParams {
  query: string;
  operationName?: string | null;
  variables?: unknown;
}

async function fetcher(params: FetcherParams, options?: { headers?: Record<string, unknown> }): Promise<unknown> {
  const headers: Record<string, string> = { "Content-Type": "application/json", Accept: "application/json" };
  for (const [key, value] of Object.entries(options?.headers ?? {})) headers[key] = String(value);
  const named = Object.keys(headers).some((key) => key.toLowerCase() === "authorization");
  const token = getToken();
  if (!named && token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(endpoint, {
    method: "POST",
    headers,
    body: JSON.stringify(params),
    credentials: "same-origin",
  });
  if (response.status === 401 || response.status === 403) showToken(token || named ? "rejected" : "needed");
  else showToken();
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    return { errors: [{ message: `the server answered ${response.status} ${response.statusText}: ${text.slice(0, 500)}` }] };
  }
}

const search = new URLSearchParams(location.search);
const root = document.getElementById("graphiql") as HTMLElement;
root.replaceChildren();
createRoot(root).render(
  createElement(GraphiQL, {
    fetcher: fetcher as never,
    plugins: [explorerPlugin()],
    defaultQuery: DEFAULT_QUERY,
    query: search.get("q") ?? undefined,
    variables: search.get("variables") ?? undefined,
    defaultEditorToolsVisibility: true,
    isHeadersEditorEnabled: true,
    shouldPersistHeaders: false,
    inputValueDeprecation: true,
  }),
);
