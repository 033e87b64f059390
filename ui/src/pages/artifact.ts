// One artifact: its own tags and its versions' tags, its versions (newest first) each with the
// run that produced it, the latest version's value, metadata and lineage.

import { QueryError, query } from "../api";
import { aliasBadges, formatBytes, formatDate, facts, h, statusBadge, tagList } from "../dom";
import { lineageSection } from "../lineage";
import { ARTIFACT, type ArtifactDetail, type ArtifactVersionRow, type Connection } from "../queries";
import { links, type Route } from "../route";
import { simpleValue } from "../values";
import { inlineValue } from "../visualizations";
import { loadMore, section, valueTable } from "../widgets";

const PAGE = 50;

function producedBy(node: ArtifactVersionRow): HTMLElement {
  if (!node.producer) return h("span", { className: "muted" }, node.source.toLowerCase().replace("_", " "));
  const run = node.producer.run;
  return h(
    "span",
    {},
    h("a", { href: links.run(run.id), "data-testid": "producer-run-link" }, run.name),
    " ",
    statusBadge(run.status, "producer-run-status"),
    h("span", { className: "muted" }, " step "),
    h("a", { href: links.step(node.producer.id) }, node.producer.name),
  );
}

/** The tags the listed versions carry, each with how many of them carry it. */
function versionTags(counts: Map<string, number>, partial: boolean): HTMLElement {
  if (counts.size === 0) {
    return h("span", { className: "muted", "data-testid": "version-tags" }, partial ? "none on the versions listed" : "no version is tagged");
  }
  const sorted = [...counts.entries()].sort(([a], [b]) => a.localeCompare(b));
  return h(
    "span",
    { className: "tags", "data-testid": "version-tags" },
    sorted.map(([tag, count]) =>
      h(
        "a",
        { className: "tag", href: links.search("", tag), "data-tag": tag, "data-count": count, title: `${count} version${count === 1 ? "" : "s"}` },
        `${tag} ×${count}`,
      ),
    ),
    partial ? h("span", { className: "muted" }, " (among the versions listed below)") : null,
  );
}

export async function artifactPage(main: HTMLElement, route: Route): Promise<void> {
  const name = route.path[1];
  const data = await query<{ artifact: ArtifactDetail | null }>(ARTIFACT, { name, first: PAGE });
  const artifact = data.artifact;
  if (!artifact) throw new QueryError(`No artifact is named “${name}”.`, "NOT_FOUND");

  const tagCounts = new Map<string, number>();
  const tagsHolder = h("span", {});
  let more = artifact.versions.pageInfo.hasNextPage;
  const showTags = (): void => {
    tagsHolder.replaceChildren(versionTags(tagCounts, more));
  };
  const body = h("tbody", {});
  // Pick two versions, then compare them (the older as a, the newer as b).
  const picked: { id: string; order: number }[] = [];
  const compareButton = h("button", { type: "button", "data-testid": "compare-selected", disabled: true }, "Compare the two ticked versions");
  compareButton.addEventListener("click", () => {
    const [older, newer] = [...picked].sort((x, y) => y.order - x.order);
    if (older && newer) location.hash = links.compare(older.id, newer.id);
  });
  let rowCount = 0;
  const pickBox = (node: ArtifactVersionRow): HTMLInputElement => {
    const order = rowCount++;
    const box = h("input", { type: "checkbox", "data-testid": "compare-pick", "aria-label": `compare version ${node.version}` });
    box.addEventListener("change", () => {
      const at = picked.findIndex((p) => p.id === node.id);
      if (box.checked && at < 0) picked.push({ id: node.id, order });
      if (!box.checked && at >= 0) picked.splice(at, 1);
      while (picked.length > 2) {
        const dropped = picked.shift();
        const other = body.querySelector<HTMLInputElement>(`tr[data-id="${dropped?.id}"] [data-testid=compare-pick]`);
        if (other) other.checked = false;
      }
      compareButton.disabled = picked.length !== 2;
    });
    return box;
  };
  const addRows = (conn: Connection<ArtifactVersionRow>): void => {
    for (const { node } of conn.edges) {
      for (const tag of node.tags) tagCounts.set(tag, (tagCounts.get(tag) ?? 0) + 1);
      body.append(
        h(
          "tr",
          { "data-testid": "version-row", "data-version": node.version, "data-id": node.id },
          h("td", {}, pickBox(node)),
          h(
            "td",
            {},
            h("a", { href: links.version(node.id), "data-testid": "version-link" }, node.version),
            node.isCustomVersion ? h("span", { className: "muted" }, " (custom)") : null,
            node.aliases.length > 0 ? [" ", aliasBadges(node.aliases, "version-aliases")] : null,
          ),
          h("td", { "data-testid": "version-value" }, simpleValue(node) ?? ""),
          h("td", { "data-testid": "version-producer" }, producedBy(node)),
          h("td", {}, node.tags.length > 0 ? tagList(node.tags) : ""),
          h("td", {}, node.dataType),
          h("td", { className: "num", "data-testid": "version-size" }, formatBytes(node.sizeBytes)),
          h("td", {}, formatDate(node.createdAt)),
        ),
      );
    }
    more = conn.pageInfo.hasNextPage;
    showTags();
  };
  addRows(artifact.versions);
  const latest = artifact.latestVersion;
  const factList = facts([
    ["Artifact tags", h("span", { "data-testid": "artifact-tags" }, artifact.tags.length > 0 ? tagList(artifact.tags) : h("span", { className: "muted" }, "none on the artifact itself"))],
    ["Version tags", tagsHolder],
    [
      "Aliases",
      artifact.aliases.length > 0
        ? h(
            "span",
            { className: "aliases", "data-testid": "artifact-aliases" },
            artifact.aliases.map((a) =>
              h(
                "a",
                { className: "alias", href: links.version(a.version.id), "data-alias": a.name, title: a.protected ? "protected: moving it needs force" : "" },
                `@${a.name} → ${a.version.version}${a.protected ? " 🔒" : ""}`,
              ),
            ),
          )
        : h("span", { className: "muted" }, "none (latest is built in)"),
    ],
    ["Versions", String(artifact.versionCount)],
    [
      "Latest",
      latest
        ? h("a", { href: links.version(latest.id), "data-testid": "latest-version-link" }, `version ${latest.version}`)
        : "none",
    ],
    ["Value (latest)", latest ? inlineValue(latest.id) : ""],
    ["Created", formatDate(artifact.createdAt)],
    ["Updated", formatDate(artifact.updatedAt)],
  ]);

  main.replaceChildren(
    h("p", { className: "crumbs" }, h("a", { href: links.search() }, "Artifacts"), " / ", artifact.name),
    h("h1", { "data-testid": "artifact-name" }, artifact.name),
    factList,
    section(
      "Versions, newest first",
      "versions",
      h(
        "table",
        { className: "list", "data-testid": "version-table" },
        h(
          "thead",
          {},
          h("tr", {}, ["Compare", "Version", "Value", "Produced by (run, step)", "Tags", "Type", "Size", "Created"].map((t) => h("th", { scope: "col" }, t))),
        ),
        body,
      ),
      h("p", { className: "compare-bar" }, compareButton),
      loadMore(artifact.versions.pageInfo, async (after) => {
        const next = await query<{ artifact: ArtifactDetail }>(ARTIFACT, { name, first: PAGE, after });
        addRows(next.artifact.versions);
        return next.artifact.versions.pageInfo;
      }),
    ),
    latest ? lineageSection(latest.id, route, `Lineage of ${artifact.name}:${latest.version} (the latest)`) : "",
    latest
      ? section(`Metadata of version ${latest.version} (the latest)`, "artifact-metadata", valueTable(latest.metadata, "metadata"))
      : "",
  );
}
