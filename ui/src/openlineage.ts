// Runs, step runs and versions that came from another tool's OpenLineage events (Spark, dbt,
// Airflow, another store): a marker naming the producer, and their facets as collapsible JSON.

import { formatDate, h } from "./dom";
import type { OpenLineageRun } from "./queries";

/** A badge: "OpenLineage", with the producer (the URI the sending integration names). */
export function openLineageMarker(producer: string, testid = "openlineage-marker"): HTMLElement {
  return h(
    "span",
    { className: "badge openlineage", "data-testid": testid, "data-producer": producer, title: `From OpenLineage events sent by ${producer}` },
    "OpenLineage",
  );
}

/** JSON in a closed <details>: facets can be long. */
export function jsonBlock(title: string, value: unknown, testid: string): HTMLElement {
  const keys = value && typeof value === "object" ? Object.keys(value).length : 0;
  return h(
    "details",
    { className: "json-block", "data-testid": testid, "data-keys": keys },
    h("summary", {}, `${title} (${keys})`),
    h("pre", { className: "json" }, JSON.stringify(value ?? {}, null, 2)),
  );
}

/** A run's or step run's OpenLineage origin: producer, job, events, then its facets. */
export function openLineageRunSection(ol: OpenLineageRun): HTMLElement {
  return h(
    "section",
    { className: "card", "data-testid": "openlineage" },
    h("h2", {}, "From OpenLineage ", openLineageMarker(ol.producer, "openlineage-section-marker")),
    h(
      "dl",
      { className: "facts" },
      h("dt", {}, "Producer"),
      h("dd", { "data-testid": "openlineage-producer" }, h("code", {}, ol.producer)),
      h("dt", {}, "Job"),
      h("dd", { "data-testid": "openlineage-job" }, `${ol.namespace} / ${ol.job}`),
      h("dt", {}, "Events"),
      h("dd", {}, `${ol.eventCount}, the last ${ol.lastEventType} at ${formatDate(ol.lastEventTime)}`),
    ),
    jsonBlock("Run facets", ol.facets, "openlineage-run-facets"),
    jsonBlock("Job facets", ol.jobFacets, "openlineage-job-facets"),
  );
}
