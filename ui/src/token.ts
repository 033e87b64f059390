// The API token both pages send (the explorer at /ui and GraphiQL at /graphql): kept in the
// browser tab's sessionStorage under one key, never in localStorage or a cookie.

const TOKEN_KEY = "lineageql.token";

export function getToken(): string {
  return sessionStorage.getItem(TOKEN_KEY) ?? "";
}

export function setToken(token: string): void {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}
