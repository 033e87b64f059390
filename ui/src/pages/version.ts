// One artifact version: its facts, metadata, producer and consumers, visualizations and lineage.

import { QueryError, query } from "../api";
import { aliasBadges, facts, formatBytes, formatDate, h, tagList } from "../dom";
import { lineageSection } from "../lineage";
import { jsonBlock, openLineageMarker } from "../openlineage";
import { resolveRef } from "../refs";
import { VERSION, type VersionDetail } from "../queries";
import { links, type Route } from "../route";
import { simpleValue } from "../values";
import { inlineValue, visualizationSection } from "../visualizations";
import { section, stepLink, valueTable } from "../widgets";

export async function versionPage(main: HTMLElement, route: Route): Promise<void> {
  // An id, or a version named as the CLI names it: `name@alias`, `name:version`, `name`.
  const id = (await resolveRef(route.path[1])).id;
  const data = await query<{ artifactVersion: VersionDetail | null }>(VERSION, { id });
  const v = data.artifactVersion;
  if (!v) throw new QueryError(`No artifact version has the id “${id}”.`, "NOT_FOUND");
  // A simple value, else a short JSON container's text; nothing for other kinds of data.
  const value = simpleValue(v) ?? (/^builtins:(list|dict|tuple)$/.test(v.dataType) ? inlineValue(v.id) : null);
  main.replaceChildren(
    h(
      "p",
      { className: "crumbs" },
      h("a", { href: links.search() }, "Artifacts"),
      " / ",
      h("a", { href: links.artifact(v.name), "data-testid": "artifact-crumb" }, v.name),
      " / ",
      `version ${v.version}`,
      // An auto version after the first: one click to see what changed since the one before.
      /^[1-9][0-9]*$/.test(v.version) && v.version !== "1"
        ? [
            " · ",
            h("a", { href: links.compare(`${v.name}:${Number(v.version) - 1}`, v.id), "data-testid": "compare-previous" }, `compare with version ${Number(v.version) - 1}`),
          ]
        : null,
    ),
    h("h1", { "data-testid": "version-title" }, `${v.name}:${v.version}`),
    lineageSection(v.id, route, `Lineage of ${v.name}:${v.version}`),
    facts(
      [
        ["Value", value ? h("span", { "data-testid": "version-value" }, value) : ""],
        ["Aliases", v.aliases.length > 0 ? aliasBadges(v.aliases, "version-aliases") : ""],
        ["Tags", tagList(v.tags)],
        ["Source", v.openlineage ? h("span", {}, `${v.source} `, openLineageMarker(v.openlineage.producer)) : v.source],
        ["OpenLineage dataset", v.openlineage ? h("span", { "data-testid": "openlineage-dataset" }, `${v.openlineage.namespace} / ${v.openlineage.name}`) : ""],
        [
          "Produced by",
          v.producer ? stepLink(v.producer, "producer-link") : h("span", { className: "muted" }, "no step (saved or registered)"),
        ],
        ["Type", v.dataType],
        ["Materializer", v.materializer],
        ["Size", formatBytes(v.sizeBytes)],
        ["Content hash", v.contentHash ? h("code", {}, v.contentHash) : ""],
        ["URI", h("code", {}, v.uri)],
        ["Created", formatDate(v.createdAt)],
        ["Id", h("code", {}, v.id)],
      ],
      "version-facts",
    ),
    section("Metadata", "version-metadata", valueTable(v.metadata, "metadata")),
    v.openlineage ? section("OpenLineage facets", "openlineage", jsonBlock("Dataset facets", v.openlineage.facets, "openlineage-dataset-facets")) : "",
    v.consumers.length > 0
      ? section(
          "Used by",
          "consumers",
          h("ul", {}, v.consumers.map((step) => h("li", {}, stepLink(step, "consumer-link")))),
        )
      : "",
    visualizationSection(v.id),
  );
}
