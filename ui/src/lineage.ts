// The lineage section of a version or step page: direction and depth controls, then the graph
// the `lineage` query answers (all its pages, up to a cap), drawn as an explorer.

import { QueryError, query } from "./api";
import { attached, facts, formatDate, h } from "./dom";
import type { GraphEdge, GraphNode } from "./graph";
import {
  LINEAGE,
  NODE_DETAILS_STEP,
  NODE_DETAILS_VERSION,
  type LineageEdge,
  type LineageNode,
  type LineagePage,
  type StepRef,
} from "./queries";
import { href, links, onLeave, replaceParams, type Route } from "./route";
import { formatDuration } from "./time";

const DIRECTIONS = ["BOTH", "UPSTREAM", "DOWNSTREAM"] as const;
const PAGE = 500;
const MAX_NODES = 2000;
const DEFAULT_DEPTH = 3;

export function isCached(node: LineageNode): boolean {
  return node.__typename === "StepRun" && (node.status === "CACHED" || node.originalStepRun !== null);
}

export function toGraphNode(node: LineageNode): GraphNode {
  if (node.__typename === "ArtifactVersion") {
    return {
      id: node.id,
      kind: "artifact",
      label: `${node.name}:${node.version}`,
      detail: node.source,
      href: links.version(node.id),
    };
  }
  return {
    id: node.id,
    kind: "step",
    label: node.name,
    detail: `${node.run.pipeline.name} / ${node.run.name}`,
    href: links.step(node.id),
    status: node.status,
    cached: isCached(node),
  };
}

async function fetchLineage(
  id: string,
  direction: string,
  depth: number,
): Promise<{ nodes: LineageNode[]; edges: LineageEdge[]; truncated: boolean; capped: boolean }> {
  const nodes: LineageNode[] = [];
  const edges: LineageEdge[] = [];
  let truncated = false;
  let after: string | null = null;
  for (;;) {
    const data: { lineage: LineagePage } = await query<{ lineage: LineagePage }>(LINEAGE, {
      id,
      direction,
      depth,
      first: PAGE,
      after,
    });
    nodes.push(...data.lineage.nodes);
    edges.push(...data.lineage.edges);
    truncated ||= data.lineage.truncated;
    if (!data.lineage.pageInfo.hasNextPage) return { nodes, edges, truncated, capped: false };
    if (nodes.length >= MAX_NODES) return { nodes, edges, truncated: true, capped: true };
    after = data.lineage.pageInfo.endCursor;
  }
}

function stepItem(step: StepRef): HTMLElement {
  return h("li", {}, h("a", { href: links.step(step.id) }, step.name), ` in ${step.run.name}`);
}

/** The side panel's facts about a node: a version's producer and consumers, a step's run. */
async function nodeDetails(node: GraphNode): Promise<HTMLElement> {
  if (node.kind === "artifact") {
    const data = await query<{
      artifactVersion: {
        dataType: string;
        createdAt: string;
        tags: string[];
        producer: StepRef | null;
        consumers: StepRef[];
      } | null;
    }>(NODE_DETAILS_VERSION, { id: node.id });
    const v = data.artifactVersion;
    if (!v) return h("p", { className: "muted" }, "This version is gone.");
    return h(
      "div",
      {},
      facts([
        ["Type", v.dataType],
        ["Created", formatDate(v.createdAt)],
        ["Version tags", v.tags.join(", ")],
      ]),
      h("h4", {}, "Produced by"),
      v.producer ? h("ul", { "data-testid": "panel-producer" }, stepItem(v.producer)) : h("p", { className: "muted" }, "no step (saved or registered)"),
      h("h4", {}, `Used by (${v.consumers.length})`),
      v.consumers.length > 0 ? h("ul", { "data-testid": "panel-consumers" }, v.consumers.slice(0, 20).map(stepItem)) : h("p", { className: "muted" }, "no step run"),
    );
  }
  const data = await query<{
    stepRun: {
      status: string;
      startedAt: string;
      endedAt: string | null;
      run: { id: string; name: string; pipeline: { name: string } };
      inputs: { name: string; artifactVersion: { id: string; name: string; version: string } }[];
      outputs: { name: string; artifactVersion: { id: string; name: string; version: string } }[];
    } | null;
  }>(NODE_DETAILS_STEP, { id: node.id });
  const s = data.stepRun;
  if (!s) return h("p", { className: "muted" }, "This step run is gone.");
  const versions = (items: typeof s.inputs) =>
    items.length === 0
      ? h("p", { className: "muted" }, "none")
      : h("ul", {}, items.map((i) => h("li", {}, h("code", {}, i.name), ": ", h("a", { href: links.version(i.artifactVersion.id) }, `${i.artifactVersion.name}:${i.artifactVersion.version}`))));
  return h(
    "div",
    {},
    facts([
      ["Run", h("a", { href: links.run(s.run.id) }, `${s.run.name} (${s.run.pipeline.name})`)],
      ["Started", formatDate(s.startedAt)],
      ["Duration", formatDuration(s.startedAt, s.endedAt, s.status)],
    ]),
    h("h4", {}, "Inputs"),
    versions(s.inputs),
    h("h4", {}, "Outputs"),
    versions(s.outputs),
  );
}

export function lineageSection(id: string, route: Route, title: string): HTMLElement {
  const initialDirection = route.params.get("direction")?.toUpperCase() ?? "BOTH";
  const asked = Number(route.params.get("depth") ?? String(DEFAULT_DEPTH));
  const direction = h(
    "select",
    { id: "lineage-direction", "data-testid": "lineage-direction" },
    DIRECTIONS.map((d) => h("option", { value: d, selected: d === initialDirection }, d.toLowerCase())),
  );
  // No maximum here: the server says what it accepts (LIMIT_EXCEEDED names its maximum).
  const depth = h("input", {
    id: "lineage-depth",
    type: "number",
    min: 0,
    step: 1,
    value: Number.isInteger(asked) && asked >= 0 ? asked : DEFAULT_DEPTH,
    "data-testid": "lineage-depth",
  });
  const status = h("p", { className: "muted", "data-testid": "lineage-status", "aria-live": "polite" });
  const host = h("div", { className: "graph-host" });
  const form = h(
    "form",
    { className: "controls", "data-testid": "lineage-controls", novalidate: true },
    h("label", { for: "lineage-direction" }, "Direction"),
    direction,
    h("label", { for: "lineage-depth" }, "Depth (artifact hops)"),
    depth,
    h("button", { type: "submit", "data-testid": "lineage-apply" }, "Show"),
  );
  let release: (() => void) | null = null;
  let generation = 0;

  const params = (dir: string, hops: number): Record<string, string> => ({
    direction: dir === "BOTH" ? "" : dir,
    depth: hops === DEFAULT_DEPTH ? "" : String(hops),
  });

  const load = async (): Promise<void> => {
    const mine = ++generation;
    const dir = direction.value;
    const hops = Number(depth.value);
    depth.removeAttribute("aria-invalid");
    if (!Number.isInteger(hops) || hops < 0) {
      depth.setAttribute("aria-invalid", "true");
      status.dataset.state = "invalid";
      status.textContent = `The depth must be a whole number of hops, 0 or more; “${depth.value}” is not.`;
      return;
    }
    replaceParams(params(dir, hops));
    status.dataset.state = "loading";
    status.textContent = "Loading the lineage…";
    let result: Awaited<ReturnType<typeof fetchLineage>>;
    let draw: typeof import("./graph");
    try {
      [result, draw] = await Promise.all([fetchLineage(id, dir, hops), import("./graph")]);
    } catch (error) {
      if (mine !== generation) return;
      if (error instanceof QueryError && error.code === "LIMIT_EXCEEDED") {
        const maximum = error.extensions.maximum;
        depth.setAttribute("aria-invalid", "true");
        status.dataset.state = "out-of-range";
        status.textContent =
          typeof maximum === "number"
            ? `A depth of ${hops} is out of range: this server allows at most ${maximum} hops.`
            : `A depth of ${hops} is out of range: ${error.message}`;
        if (typeof maximum === "number") depth.max = String(maximum);
        return;
      }
      status.dataset.state = "error";
      status.textContent = `Could not load the lineage: ${String(error)}`;
      throw error;
    }
    if (mine !== generation || !(await attached(host)) || mine !== generation) return;
    release?.();
    const nodes: GraphNode[] = result.nodes.map(toGraphNode);
    const edges: GraphEdge[] = result.edges.map((e) => ({ source: e.source, target: e.target, label: e.name }));
    release = draw.drawGraph(host, nodes, edges, {
      focus: id,
      testid: "lineage-graph",
      caption: title,
      // Re-centring opens the node's page with the same direction and depth: a new history
      // entry, so Back returns here.
      recentre: (node) => href([node.kind === "step" ? "steps" : "versions", node.id], params(dir, hops)),
      details: nodeDetails,
    });
    const steps = nodes.filter((n) => n.kind === "step").length;
    status.dataset.state = "ready";
    status.textContent =
      `${nodes.length - steps} artifact versions and ${steps} step runs, ` +
      `${dir.toLowerCase()}, ${hops} hop${hops === 1 ? "" : "s"} deep.` +
      (result.capped
        ? ` Only the first ${nodes.length} nodes are drawn.`
        : result.truncated
          ? " The depth cut the graph: raise it to see more."
          : "");
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    load().catch(() => undefined);
  });
  direction.addEventListener("change", () => {
    load().catch(() => undefined);
  });
  const sectionEl = h(
    "section",
    { className: "card lineage-card", "data-testid": "lineage" },
    h("div", { className: "lineage-head" }, h("h2", {}, title), form),
    status,
    host,
  );
  onLeave(() => {
    generation += 1;
    release?.();
    release = null;
  });
  queueMicrotask(() => {
    load().catch(() => undefined);
  });
  return sectionEl;
}
