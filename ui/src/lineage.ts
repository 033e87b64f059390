// The lineage section of a version or step page: direction and depth controls, then the graph
// the `lineage` query answers (all its pages, up to a cap).

import { query } from "./api";
import { attached, h } from "./dom";
import type { GraphEdge, GraphNode } from "./graph";
import { LINEAGE, type LineageEdge, type LineageNode, type LineagePage } from "./queries";
import { links, onLeave, replaceParams, type Route } from "./route";

const DIRECTIONS = ["BOTH", "UPSTREAM", "DOWNSTREAM"] as const;
const PAGE = 500;
const MAX_NODES = 2000;
const MAX_DEPTH = 20;

export function isCached(node: LineageNode): boolean {
  return node.__typename === "StepRun" && (node.status === "CACHED" || node.originalStepRun !== null);
}

export function toGraphNode(node: LineageNode): GraphNode {
  if (node.__typename === "ArtifactVersion") {
    return {
      id: node.id,
      kind: "artifact",
      label: `${node.name}\n:${node.version}`,
      detail: node.source,
      href: links.version(node.id),
    };
  }
  return {
    id: node.id,
    kind: "step",
    label: `${node.name}\n${node.status}`,
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

export function lineageSection(id: string, route: Route, title: string): HTMLElement {
  const initialDirection = route.params.get("direction")?.toUpperCase() ?? "BOTH";
  const initialDepth = Number(route.params.get("depth") ?? "3");
  const direction = h(
    "select",
    { id: "lineage-direction", "data-testid": "lineage-direction" },
    DIRECTIONS.map((d) =>
      h("option", { value: d, selected: d === initialDirection }, d.toLowerCase()),
    ),
  );
  const depth = h("input", {
    id: "lineage-depth",
    type: "number",
    min: 1,
    max: MAX_DEPTH,
    value: Number.isInteger(initialDepth) && initialDepth > 0 ? Math.min(initialDepth, MAX_DEPTH) : 3,
    "data-testid": "lineage-depth",
  });
  const status = h("p", { className: "muted", "data-testid": "lineage-status", "aria-live": "polite" });
  const host = h("div", { className: "graph-host" });
  const form = h(
    "form",
    { className: "controls", "data-testid": "lineage-controls" },
    h("label", { for: "lineage-direction" }, "Direction"),
    direction,
    h("label", { for: "lineage-depth" }, "Depth (artifact hops)"),
    depth,
    h("button", { type: "submit", "data-testid": "lineage-apply" }, "Show"),
  );
  let release: (() => void) | null = null;
  let generation = 0;

  const load = async (): Promise<void> => {
    const mine = ++generation;
    const dir = direction.value;
    const hops = Math.max(1, Math.min(MAX_DEPTH, Math.trunc(Number(depth.value)) || 3));
    depth.value = String(hops);
    replaceParams({ direction: dir === "BOTH" ? "" : dir, depth: hops === 3 ? "" : String(hops) });
    status.textContent = "Loading the lineage…";
    let result: Awaited<ReturnType<typeof fetchLineage>>;
    let draw: typeof import("./graph");
    try {
      [result, draw] = await Promise.all([fetchLineage(id, dir, hops), import("./graph")]);
    } catch (error) {
      if (mine === generation) status.textContent = `Could not load the lineage: ${String(error)}`;
      throw error;
    }
    if (mine !== generation || !(await attached(host)) || mine !== generation) return;
    release?.();
    const nodes: GraphNode[] = result.nodes.map(toGraphNode);
    const edges: GraphEdge[] = result.edges.map((e) => ({
      source: e.source,
      target: e.target,
      label: e.name,
    }));
    release = draw.drawGraph(host, nodes, edges, { focus: id, testid: "lineage-graph", caption: title });
    const steps = nodes.filter((n) => n.kind === "step").length;
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
    { className: "card", "data-testid": "lineage" },
    h("h2", {}, title),
    form,
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
