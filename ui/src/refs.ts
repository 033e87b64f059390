// Versions named as the CLI and SDK name them: an id, `name@alias`, `name:version` or `name`
// (its latest). The explorer accepts them in the search box and in addresses.

import { QueryError, query } from "./api";
import { VERSION_REF, type VersionRef } from "./queries";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isId(ref: string): boolean {
  return UUID.test(ref);
}

/** `name@alias` → {name, alias}; `name:version` → {name, version}; else {name}. As the CLI
 * splits them: the last single `:` (the `::` of `pipeline::step::output` stays in the name). */
export function parseRef(ref: string): { name: string; version?: string; alias?: string } {
  const at = ref.lastIndexOf("@");
  if (at > 0 && at < ref.length - 1) return { name: ref.slice(0, at), alias: ref.slice(at + 1) };
  const separators = [...ref.matchAll(/(?<!:):(?!:)/g)].map((m) => m.index ?? -1);
  const last = separators.at(-1);
  if (last !== undefined && last > 0 && last < ref.length - 1) {
    return { name: ref.slice(0, last), version: ref.slice(last + 1) };
  }
  return { name: ref };
}

/** The version a reference names; NOT_FOUND (with the reference) when none does. */
export async function resolveRef(ref: string): Promise<VersionRef> {
  if (isId(ref)) return { id: ref, name: "", version: "" };
  const parsed = parseRef(ref);
  const data = await query<{ artifactVersion: VersionRef | null }>(VERSION_REF, {
    name: parsed.name,
    version: parsed.version ?? null,
    alias: parsed.alias ?? null,
  });
  if (!data.artifactVersion) {
    const what = parsed.alias ? `the alias “${parsed.alias}” of “${parsed.name}”` : `“${ref}”`;
    throw new QueryError(`No artifact version is named by ${what}.`, "NOT_FOUND");
  }
  return data.artifactVersion;
}
