// The lineage section of a version or step page: direction and depth controls, then the graph
// the `lineage` query answers (all its pages, up to a cap), drawn as an explorer.

import { QueryError, query } from "./api";
import { attached, facts, formatDate, h } from "./dom";
import { hops, relations, type GraphEdge, type GraphHandle, type GraphNode, type Side } from "./graphdata";
import {
  LINEAGE,
  NODE_DETAILS_STEP,
  NODE_DETAILS_VERSION,
  type LineageEdge,
  type LineageNode,
  type LineagePage,
  type Neighbours,
  type StepRef,
  neighboursQuery,
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
    const aliases = node.aliases ?? [];
    return {
      id: node.id,
      kind: "artifact",
      label: `${node.name}:${node.version}`,
      aliases,
      openlineage: node.openlineage?.producer,
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
    openlineage: node.openlineage?.producer,
  };
}

export function toGraphEdge(edge: LineageEdge): GraphEdge {
  return { source: edge.source, target: edge.target, label: edge.name };
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

const CHECK_BATCH = 20; // fields per request, under the server's alias limit (30 by default)
const CHECK_MAX = 200; // beyond this many candidates, each is offered as expandable unchecked

/** Of the versions at the depth limit, those whose neighbours on `side` the graph lacks. */
async function findFrontier(
  candidates: { id: string; side: Side }[],
  present: Set<string>,
): Promise<Map<string, Side>> {
  const result = new Map<string, Side>();
  const checked = candidates.slice(0, CHECK_MAX);
  for (const { id, side } of candidates.slice(CHECK_MAX)) result.set(id, side);
  const batches: (typeof checked)[] = [];
  for (let start = 0; start < checked.length; start += CHECK_BATCH) batches.push(checked.slice(start, start + CHECK_BATCH));
  const answers = await Promise.all(
    batches.map((batch) =>
      query<Record<string, Neighbours | null>>(
        neighboursQuery(batch.length),
        Object.fromEntries(batch.map((c, i) => [`i${i}`, c.id])),
      ),
    ),
  );
  batches.forEach((batch, b) => {
    const data = answers[b];
    batch.forEach((candidate, i) => {
      const found = data[`n${i}`];
      if (!found) return;
      const missing =
        candidate.side === "upstream"
          ? found.producer !== null && !present.has(found.producer.id)
          : found.consumers.some((c) => !present.has(c.id));
      if (missing) result.set(candidate.id, candidate.side);
    });
  });
  return result;
}

/** Versions of `nodes` at least `depth` hops from `from`, each with the side it lies on. */
function candidatesOf(nodes: GraphNode[], edges: GraphEdge[], from: string, depth: number, only?: Side): { id: string; side: Side }[] {
  const hop = hops(nodes, edges, from);
  const relation = relations(nodes, edges, from);
  const found: { id: string; side: Side }[] = [];
  for (const node of nodes) {
    const rel = relation.get(node.id);
    if (node.kind !== "artifact" || (hop.get(node.id) ?? 0) < depth) continue;
    if (rel === "upstream" || rel === "downstream") {
      if (!only || only === rel) found.push({ id: node.id, side: rel });
    }
  }
  return found;
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
  // Deep graphs read better with step runs as labelled edges; kept in the address.
  const collapse = h("input", {
    id: "lineage-collapse",
    type: "checkbox",
    checked: route.params.get("steps") === "edges",
    "data-testid": "lineage-collapse",
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
    h("label", { className: "toggle", for: "lineage-collapse", title: "Draw each step run as an arrow from its inputs to its outputs" }, collapse, "steps as edges"),
  );
  let handle: GraphHandle | null = null;
  let draw: typeof import("./graph") | null = null;
  let generation = 0;
  // What is drawn: the walk's answer plus every expansion merged into it.
  let nodes: GraphNode[] = [];
  let edges: GraphEdge[] = [];
  let frontier = new Map<string, Side>();
  let dir = "BOTH";
  let hops = DEFAULT_DEPTH;

  const params = (): Record<string, string> => ({
    direction: dir === "BOTH" ? "" : dir,
    depth: hops === DEFAULT_DEPTH ? "" : String(hops),
    steps: collapse.checked ? "edges" : "",
  });

  const counts = (): string => {
    const steps = nodes.filter((n) => n.kind === "step").length;
    return `${nodes.length - steps} artifact versions and ${steps} step runs`;
  };

  /** Draws what is held; with `keep`, that node stays where it was on screen, at the same zoom. */
  const render = (keep?: string, reveal?: string[]): void => {
    if (!draw) return;
    const kept = keep ? handle?.view(keep) : null;
    const view = kept ? { ...kept, reveal } : undefined;
    handle?.release();
    const shown = collapse.checked ? draw.collapseSteps(nodes, edges, id) : { nodes, edges };
    handle = draw.drawGraph(host, shown.nodes, shown.edges, {
      focus: id,
      testid: "lineage-graph",
      caption: title,
      // Re-centring opens the node's page with the same direction, depth and drawing: a new
      // history entry, so Back returns here.
      recentre: (node) => href([node.kind === "step" ? "steps" : "versions", node.id], params()),
      details: nodeDetails,
      frontier,
      onExpand: (node) => {
        expand(node).catch(() => undefined);
      },
      view,
      collapsed: collapse.checked,
      hidden: collapse.checked ? nodes.filter((n) => n.kind === "step") : [],
    });
  };

  const expand = async (node: GraphNode): Promise<void> => {
    const side = frontier.get(node.id);
    if (!side) return;
    const mine = generation;
    status.dataset.state = "expanding";
    status.textContent = `Expanding ${node.label} ${side}…`;
    let result: Awaited<ReturnType<typeof fetchLineage>>;
    try {
      result = await fetchLineage(node.id, side.toUpperCase(), hops);
    } catch (error) {
      if (mine !== generation) return;
      status.dataset.state = "error";
      status.textContent = `Could not expand ${node.label}: ${String(error)}`;
      throw error;
    }
    if (mine !== generation) return;
    const added = result.nodes.map(toGraphNode);
    const addedEdges = result.edges.map(toGraphEdge);
    const known = new Set(nodes.map((n) => n.id));
    const fresh = added.filter((n) => !known.has(n.id));
    nodes = [...nodes, ...fresh];
    const edgeKeys = new Set(edges.map((e) => `${e.source} ${e.target}`));
    edges = [...edges, ...addedEdges.filter((e) => !edgeKeys.has(`${e.source} ${e.target}`))];
    frontier.delete(node.id);
    if (result.truncated) {
      const present = new Set(nodes.map((n) => n.id));
      const found = await findFrontier(candidatesOf(added, addedEdges, node.id, hops, side), present);
      if (mine !== generation) return;
      for (const [other, otherSide] of found) if (!frontier.has(other)) frontier.set(other, otherSide);
    }
    render(node.id, fresh.map((n) => n.id));
    status.dataset.state = "expanded";
    status.textContent = `Expanded ${node.label} ${side}: ${fresh.length} more node${fresh.length === 1 ? "" : "s"}. Now ${counts()}.`;
  };

  const load = async (): Promise<void> => {
    const mine = ++generation;
    dir = direction.value;
    const asked = Number(depth.value);
    depth.removeAttribute("aria-invalid");
    if (!Number.isInteger(asked) || asked < 0) {
      depth.setAttribute("aria-invalid", "true");
      status.dataset.state = "invalid";
      status.textContent = `The depth must be a whole number of hops, 0 or more; “${depth.value}” is not.`;
      return;
    }
    hops = asked;
    replaceParams(params());
    status.dataset.state = "loading";
    status.textContent = "Loading the lineage…";
    let result: Awaited<ReturnType<typeof fetchLineage>>;
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
    const fetchedNodes = result.nodes.map(toGraphNode);
    const fetchedEdges = result.edges.map(toGraphEdge);
    // Which versions the depth cut, asked before drawing so the graph is laid out once.
    let found = new Map<string, Side>();
    if (result.truncated && !result.capped) {
      const candidates = candidatesOf(fetchedNodes, fetchedEdges, id, hops);
      found = await findFrontier(candidates, new Set(fetchedNodes.map((n) => n.id))).catch(() => found);
    }
    if (mine !== generation || !(await attached(host)) || mine !== generation) return;
    nodes = fetchedNodes;
    edges = fetchedEdges;
    frontier = found;
    render();
    status.dataset.state = "ready";
    status.textContent =
      `${counts()}, ${dir.toLowerCase()}, ${hops} hop${hops === 1 ? "" : "s"} deep.` +
      (result.capped
        ? ` Only the first ${nodes.length} nodes are drawn.`
        : result.truncated
          ? frontier.size > 0
            ? " The depth cut the graph: raise it, or expand a node marked +."
            : " The depth cut the graph: raise it to see more."
          : "");
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    load().catch(() => undefined);
  });
  direction.addEventListener("change", () => {
    load().catch(() => undefined);
  });
  collapse.addEventListener("change", () => {
    replaceParams(params());
    render(id);
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
    handle?.release();
    handle = null;
  });
  queueMicrotask(() => {
    load().catch(() => undefined);
  });
  return sectionEl;
}
