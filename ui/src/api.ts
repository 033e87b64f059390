// The only way the explorer reaches the server: POST queries to the public GraphQL endpoint,
// with the token from the header field (kept in sessionStorage, never in localStorage).

import { getToken } from "./token";

export { getToken, setToken } from "./token";

export const graphqlUrl = new URL("../graphql", document.baseURI).toString();
export const serverRoot = new URL("../", document.baseURI);

export function authHeaders(): Record<string, string> {
  const token = getToken();
  return token ? { Authorization: `Bearer ${token}` } : {};
}

/** The server refused the request for lack of a (valid) token. */
export class AuthError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AuthError";
  }
}

/** The server answered with GraphQL errors (the first code is kept: NOT_FOUND, ...). */
export class QueryError extends Error {
  readonly code: string | undefined;
  constructor(message: string, code: string | undefined) {
    super(message);
    this.name = "QueryError";
    this.code = code;
  }
}

interface GraphQLResponse<T> {
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

export async function query<T>(document: string, variables: Record<string, unknown> = {}): Promise<T> {
  let response: Response;
  try {
    response = await fetch(graphqlUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json", ...authHeaders() },
      body: JSON.stringify({ query: document, variables }),
      credentials: "same-origin",
    });
  } catch (error) {
    throw new Error(`cannot reach the server at ${graphqlUrl}: ${String(error)}`);
  }
  if (response.status === 401 || response.status === 403) {
    const said = await response
      .json()
      .then((b: GraphQLResponse<T>) => b.errors?.[0]?.message ?? "")
      .catch(() => "");
    throw new AuthError(
      (response.status === 401
        ? "The server needs an API token: enter it in the token field at the top of the page."
        : "The server refused this token: enter a token that may read the store.") +
        (said ? ` (The server said: ${said})` : ""),
    );
  }
  let body: GraphQLResponse<T>;
  try {
    body = (await response.json()) as GraphQLResponse<T>;
  } catch {
    throw new Error(`the server answered ${response.status} ${response.statusText} without JSON`);
  }
  const errors = body.errors ?? [];
  if (errors.length > 0) {
    const code = errors[0].extensions?.code;
    if (code === "UNAUTHENTICATED" || code === "FORBIDDEN") {
      throw new AuthError(`${errors[0].message} Enter a token in the field at the top of the page.`);
    }
    throw new QueryError(errors.map((e) => e.message).join("; "), code);
  }
  if (!response.ok || !body.data) {
    throw new Error(`the server answered ${response.status} ${response.statusText}`);
  }
  return body.data;
}

/** A same-server URL from a relative one the API hands out (e.g. a visualization's `url`). */
export function serverUrl(relative: string): string {
  const url = new URL(relative.replace(/^\//, ""), serverRoot);
  if (url.origin !== location.origin) throw new Error(`refusing a URL on another server: ${relative}`);
  return url.toString();
}
