// The start page: artifacts searched by name and tag.

import { query } from "../api";
import { formatDate, h, tagList } from "../dom";
import {
  ARTIFACTS,
  type ArtifactSummary,
  type Connection,
  DEFAULT_NAMED_COUNT,
  TAGGED_VERSIONS,
  type TaggedVersion,
} from "../queries";
import { links, type Route } from "../route";
import { resolveRef } from "../refs";
import { simpleValue } from "../values";
import { loadMore } from "../widgets";

const PAGE = 50;

export async function searchPage(main: HTMLElement, route: Route): Promise<void> {
  const q = route.params.get("q") ?? "";
  // `name@alias` names one version, as everywhere else: go to it (Back returns here).
  if (/^[^@]+@[^@]+$/.test(q.trim())) {
    const found = await resolveRef(q.trim());
    location.hash = links.version(found.id);
    return;
  }
  const tag = route.params.get("tag") ?? "";
  // As `lineageql artifacts list`: default names (`pipeline::step::output`) hidden unless asked.
  const showDefault = route.params.get("defaults") === "1";
  const nameInput = h("input", {
    id: "search-name",
    type: "search",
    name: "q",
    value: q,
    placeholder: "part of a name, e.g. iris",
    "data-testid": "search-name",
  });
  const tagInput = h("input", {
    id: "search-tag",
    type: "search",
    name: "tag",
    value: tag,
    placeholder: "a tag, e.g. raw",
    "data-testid": "search-tag",
  });
  const form = h(
    "form",
    { className: "search", role: "search", "data-testid": "search-form" },
    h("label", { for: "search-name" }, "Name"),
    nameInput,
    h("label", { for: "search-tag" }, "Tag"),
    tagInput,
    h("button", { type: "submit", "data-testid": "search-submit" }, "Search"),
    h(
      "label",
      { className: "toggle", for: "search-defaults" },
      h("input", {
        id: "search-defaults",
        type: "checkbox",
        name: "defaults",
        checked: showDefault,
        "data-testid": "show-default-names",
      }),
      " show default names",
    ),
  );
  const toggle = form.querySelector<HTMLInputElement>("#search-defaults");
  const go = (): void => {
    location.hash = links.search(nameInput.value.trim(), tagInput.value.trim(), toggle?.checked ?? false);
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    go();
  });
  toggle?.addEventListener("change", go);

  const filter = { nameContains: q || null, tag: tag || null, hasCustomName: showDefault ? null : true };
  const hiddenCount = showDefault
    ? Promise.resolve(0)
    : query<{ artifacts: { totalCount: number } }>(DEFAULT_NAMED_COUNT, {
        filter: { ...filter, hasCustomName: false },
      }).then((d) => d.artifacts.totalCount);
  const [first, hidden] = await Promise.all([
    query<{ artifacts: Connection<ArtifactSummary> }>(ARTIFACTS, { filter, first: PAGE }),
    hiddenCount,
  ]);
  const body = h("tbody", {});
  const addRows = (conn: Connection<ArtifactSummary>): void => {
    for (const { node } of conn.edges) {
      body.append(
        h(
          "tr",
          { "data-testid": "artifact-row", "data-name": node.name },
          h("td", {}, h("a", { href: links.artifact(node.name), "data-testid": "artifact-link" }, node.name)),
          h("td", {}, tagList(node.tags)),
          h("td", { className: "num" }, node.versionCount),
          h(
            "td",
            {},
            node.latestVersion
              ? h("a", { href: links.version(node.latestVersion.id) }, node.latestVersion.version)
              : "",
          ),
          h("td", { "data-testid": "latest-value" }, node.latestVersion ? (simpleValue(node.latestVersion) ?? "") : ""),
          h("td", {}, formatDate(node.latestVersion?.createdAt)),
        ),
      );
    }
  };
  addRows(first.artifacts);
  const total = first.artifacts.totalCount;
  const what = [q && `name contains “${q}”`, tag && `tag “${tag}”`].filter(Boolean).join(", ");
  const tagged = tag ? await taggedVersions(tag, q) : null;
  main.replaceChildren(
    h("h1", {}, "Artifacts"),
    form,
    h(
      "p",
      { className: "muted", "data-testid": "result-count" },
      `${total} artifact${total === 1 ? "" : "s"}${what ? ` with ${what}` : ""}`,
      hidden > 0
        ? h(
            "span",
            { "data-testid": "hidden-default-names", "data-count": hidden },
            `; ${hidden} with a default name (pipeline::step::output) hidden: `,
            h("a", { href: links.search(q, tag, true) }, "show them"),
          )
        : "",
    ),
    total === 0
      ? tagged
        ? ""
        : h("p", { "data-testid": "no-results" }, "Nothing matches. Try part of a name, or clear the tag.")
      : h(
          "table",
          { className: "list", "data-testid": "artifact-results" },
          h(
            "thead",
            {},
            h("tr", {}, ["Name", "Tags", "Versions", "Latest", "Latest value", "Latest created"].map((t) => h("th", { scope: "col" }, t))),
          ),
          body,
        ),
    loadMore(first.artifacts.pageInfo, async (after) => {
      const next = await query<{ artifacts: Connection<ArtifactSummary> }>(ARTIFACTS, {
        filter,
        first: PAGE,
        after,
      });
      addRows(next.artifacts);
      return next.artifacts.pageInfo;
    }),
  );
  if (tagged) main.append(tagged);
  if (!q && !tag) nameInput.focus();
}

const TAGGED_PAGE = 200;
const TAGGED_MAX = 1000;

/**
 * Tags are set on versions too (`ArtifactConfig(tags=...)`): list the versions with `tag`,
 * newest first like every version list here. The API lists them in creation order, so up to
 * TAGGED_MAX are read and sorted here.
 */
async function taggedVersions(tag: string, nameContains: string): Promise<HTMLElement> {
  const wanted = nameContains.toLowerCase();
  const found: TaggedVersion[] = [];
  let after: string | null = null;
  let more = true;
  while (more && found.length < TAGGED_MAX) {
    const page: { artifactVersions: Connection<TaggedVersion> } = await query<{
      artifactVersions: Connection<TaggedVersion>;
    }>(TAGGED_VERSIONS, { tag, first: TAGGED_PAGE, after });
    found.push(...page.artifactVersions.edges.map((e) => e.node));
    more = page.artifactVersions.pageInfo.hasNextPage;
    after = page.artifactVersions.pageInfo.endCursor;
  }
  const rows = found
    .filter((node) => !wanted || node.name.toLowerCase().includes(wanted))
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id));
  const body = h(
    "tbody",
    {},
    rows.map((node) =>
      h(
        "tr",
        { "data-testid": "tagged-version-row", "data-name": node.name, "data-version": node.version },
        h("td", {}, h("a", { href: links.artifact(node.name) }, node.name)),
        h("td", {}, h("a", { href: links.version(node.id), "data-testid": "version-link" }, node.version)),
        h("td", {}, tagList(node.tags)),
        h("td", {}, node.source),
        h("td", { "data-testid": "version-value" }, simpleValue(node) ?? ""),
        h("td", {}, formatDate(node.createdAt)),
      ),
    ),
  );
  return h(
    "section",
    { className: "card", "data-testid": "tagged-versions" },
    h("h2", {}, `Versions tagged “${tag}”, newest first`),
    rows.length === 0
      ? h("p", { className: "muted", "data-testid": "no-tagged-versions" }, "No version has this tag.")
      : h(
          "table",
          { className: "list" },
          h("thead", {}, h("tr", {}, ["Artifact", "Version", "Tags", "Source", "Value", "Created"].map((t) => h("th", { scope: "col" }, t)))),
          body,
        ),
    more
      ? h("p", { className: "muted", "data-testid": "tagged-versions-cut" }, `Only the first ${found.length} versions created with this tag were read.`)
      : "",
  );
}
