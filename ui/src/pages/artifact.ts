// One artifact: its tags, its versions (newest first) and the latest version's metadata.

import { QueryError, query } from "../api";
import { formatBytes, formatDate, facts, h, tagList } from "../dom";
import { ARTIFACT, type ArtifactDetail, type Connection, type VersionRow } from "../queries";
import { links, type Route } from "../route";
import { loadMore, section, valueTable } from "../widgets";

const PAGE = 50;

export async function artifactPage(main: HTMLElement, route: Route): Promise<void> {
  const name = route.path[1];
  const data = await query<{ artifact: ArtifactDetail | null }>(ARTIFACT, { name, first: PAGE });
  const artifact = data.artifact;
  if (!artifact) throw new QueryError(`No artifact is named “${name}”.`, "NOT_FOUND");

  const body = h("tbody", {});
  const addRows = (conn: Connection<VersionRow>): void => {
    for (const { node } of conn.edges) {
      body.append(
        h(
          "tr",
          { "data-testid": "version-row", "data-version": node.version },
          h(
            "td",
            {},
            h("a", { href: links.version(node.id), "data-testid": "version-link" }, node.version),
            node.isCustomVersion ? h("span", { className: "muted" }, " (custom)") : null,
          ),
          h("td", {}, node.source),
          h("td", {}, tagList(node.tags)),
          h("td", {}, node.dataType),
          h("td", { className: "num" }, formatBytes(node.sizeBytes)),
          h("td", {}, formatDate(node.createdAt)),
        ),
      );
    }
  };
  addRows(artifact.versions);
  const latest = artifact.latestVersion;
  main.replaceChildren(
    h("p", { className: "crumbs" }, h("a", { href: links.search() }, "Artifacts"), " / ", artifact.name),
    h("h1", { "data-testid": "artifact-name" }, artifact.name),
    facts([
      ["Tags", tagList(artifact.tags)],
      ["Versions", String(artifact.versionCount)],
      [
        "Latest",
        latest
          ? h("a", { href: links.version(latest.id), "data-testid": "latest-version-link" }, `version ${latest.version}`)
          : "none",
      ],
      ["Created", formatDate(artifact.createdAt)],
      ["Updated", formatDate(artifact.updatedAt)],
    ]),
    section(
      "Versions",
      "versions",
      h(
        "table",
        { className: "list", "data-testid": "version-table" },
        h(
          "thead",
          {},
          h("tr", {}, ["Version", "Source", "Tags", "Type", "Size", "Created"].map((t) => h("th", { scope: "col" }, t))),
        ),
        body,
      ),
      loadMore(artifact.versions.pageInfo, async (after) => {
        const next = await query<{ artifact: ArtifactDetail }>(ARTIFACT, { name, first: PAGE, after });
        addRows(next.artifact.versions);
        return next.artifact.versions.pageInfo;
      }),
    ),
    latest
      ? section(`Metadata of version ${latest.version} (the latest)`, "artifact-metadata", valueTable(latest.metadata, "metadata"))
      : "",
  );
}
