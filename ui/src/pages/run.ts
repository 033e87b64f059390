// A pipeline run: its DAG (steps and the versions passed between them) with step statuses.

import { QueryError, query } from "../api";
import { attached, facts, formatDate, h, statusBadge } from "../dom";
import type { GraphEdge, GraphNode } from "../graph";
import { RUN, type RunDetail, type RunStep } from "../queries";
import { links, onLeave, type Route } from "../route";
import { formatDuration } from "../time";
import { openLineageMarker, openLineageRunSection } from "../openlineage";
import { valueAfter } from "../values";
import { section } from "../widgets";

function stepCached(step: RunStep): boolean {
  return step.status === "CACHED" || step.originalStepRun !== null;
}

export function runGraph(steps: RunStep[]): { nodes: GraphNode[]; edges: GraphEdge[] } {
  const nodes = new Map<string, GraphNode>();
  const edges: GraphEdge[] = [];
  for (const step of steps) {
    nodes.set(step.id, {
      id: step.id,
      kind: "step",
      label: step.name,
      detail: "",
      href: links.step(step.id),
      status: step.status,
      cached: stepCached(step),
    });
  }
  const addVersion = (v: { id: string; name: string; version: string }): void => {
    if (!nodes.has(v.id)) {
      nodes.set(v.id, {
        id: v.id,
        kind: "artifact",
        label: `${v.name}:${v.version}`,
        detail: "",
        href: links.version(v.id),
      });
    }
  };
  for (const step of steps) {
    for (const input of step.inputs) {
      addVersion(input.artifactVersion);
      edges.push({ source: input.artifactVersion.id, target: step.id, label: input.name });
    }
    for (const output of step.outputs) {
      addVersion(output.artifactVersion);
      edges.push({ source: step.id, target: output.artifactVersion.id, label: output.name });
    }
  }
  return { nodes: [...nodes.values()], edges };
}

export async function runPage(main: HTMLElement, route: Route): Promise<void> {
  const id = route.path[1];
  const data = await query<{ pipelineRun: RunDetail | null }>(RUN, { id });
  const run = data.pipelineRun;
  if (!run) throw new QueryError(`No pipeline run has the id “${id}”.`, "NOT_FOUND");
  const host = h("div", { className: "graph-host" }, h("p", { className: "muted" }, "Drawing…"));
  main.replaceChildren(
    h(
      "p",
      { className: "crumbs" },
      h("a", { href: links.pipelines() }, "Pipelines"),
      " / ",
      h("a", { href: links.pipeline(run.pipeline.name), "data-testid": "pipeline-crumb" }, run.pipeline.name),
      " / ",
      run.name,
    ),
    h("h1", { "data-testid": "run-title" }, run.name, " ", statusBadge(run.status, "run-status"), run.openlineage ? [" ", openLineageMarker(run.openlineage.producer)] : null),
    facts([
      ["Pipeline", h("a", { href: links.pipeline(run.pipeline.name), "data-testid": "pipeline-link" }, run.pipeline.name)],
      ["Started", formatDate(run.startedAt)],
      ["Ended", formatDate(run.endedAt)],
      ["Duration", h("span", { "data-testid": "run-duration" }, formatDuration(run.startedAt, run.endedAt, run.status))],
      ["Error", run.error ? h("pre", { className: "error" }, run.error) : ""],
    ]),
    run.openlineage ? openLineageRunSection(run.openlineage) : "",
    section("Steps", "run-dag-section", host),
    section(
      "Step runs",
      "run-steps",
      h(
        "table",
        { className: "list" },
        h("thead", {}, h("tr", {}, ["Step", "Status", "Started", "Duration", "Outputs", "Cache"].map((t) => h("th", { scope: "col" }, t)))),
        h(
          "tbody",
          {},
          run.steps.map((step) =>
            h(
              "tr",
              { "data-testid": "step-row", "data-step": step.name, "data-status": step.status },
              h("td", {}, h("a", { href: links.step(step.id) }, step.name), step.openlineage ? [" ", openLineageMarker(step.openlineage.producer, "step-openlineage-marker")] : null),
              h("td", {}, statusBadge(step.status)),
              h("td", {}, formatDate(step.startedAt)),
              h("td", { className: "num", "data-testid": "step-duration" }, formatDuration(step.startedAt, step.endedAt, step.status)),
              h(
                "td",
                { "data-testid": "step-outputs" },
                step.outputs.flatMap((o, i) => [
                  i > 0 ? ", " : "",
                  h("a", { href: links.version(o.artifactVersion.id) }, `${o.artifactVersion.name}:${o.artifactVersion.version}`),
                  ...valueAfter(o.artifactVersion),
                ]),
              ),
              h(
                "td",
                {},
                step.originalStepRun
                  ? h("span", {}, "from ", h("a", { href: links.run(step.originalStepRun.run.id) }, step.originalStepRun.run.name))
                  : (step.cacheReason ?? ""),
              ),
            ),
          ),
        ),
      ),
    ),
  );
  const { nodes, edges } = runGraph(run.steps);
  void Promise.all([import("../graph"), attached(host)]).then(([{ drawGraph }, isIn]) => {
    if (isIn) onLeave(drawGraph(host, nodes, edges, { testid: "run-dag", caption: `Steps of ${run.name}` }).release);
  });
}
