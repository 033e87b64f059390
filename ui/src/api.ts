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
  /** A token was sent and refused (else none was sent). */
  readonly rejected: boolean;
  constructor(message: string, rejected = false) {
    super(message);
    this.name = "AuthError";
    this.rejected = rejected;
  }
}

/** The server answered with GraphQL errors (the first code is kept: NOT_FOUND, ...). */
export class QueryError extends Error {
  readonly code: string | undefined;
  readonly extensions: Record<string, unknown>;
  constructor(message: string, code: string | undefined, extensions: Record<string, unknown> = {}) {
    super(message);
    this.name = "QueryError";
    this.code = code;
    this.extensions = extensions;
  }
}

interface GraphQLResponse<T> {
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string; [key: string]: unknown } }[];
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
    const sent = Boolean(getToken());
    const said = await response
      .json()
      .then((b: GraphQLResponse<T>) => b.errors?.[0]?.message ?? "")
      .catch(() => "");
    throw new AuthError(
      (response.status === 403
        ? "The server refused this token: enter a token that may read the store."
        : sent
          ? "The server rejected the API token saved for this tab: enter a valid one in the token field at the top of the page."
          : "The server needs an API token: enter it in the token field at the top of the page.") +
        (said ? ` (The server said: ${said})` : ""),
      sent,
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
      throw new AuthError(`${errors[0].message} Enter a token in the field at the top of the page.`, Boolean(getToken()));
    }
    throw new QueryError(errors.map((e) => e.message).join("; "), code, errors[0].extensions ?? {});
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
