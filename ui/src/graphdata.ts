// The lineage graph as data: its node and edge types, which nodes lie up- or downstream of
// the focus and how many hops away, and step runs folded into edges. No drawing here, so the
// pages can use it without loading Cytoscape.

export type Relation = "self" | "upstream" | "downstream" | "related";

export interface GraphNode {
  id: string;
  kind: "artifact" | "step";
  /** One line: `name:version` for a version, the step's name for a step run. */
  label: string;
  /** A version's aliases (`production`, ...), drawn after its label as `@production`. */
  aliases?: string[];
  /** The producer of the OpenLineage events this node came from (another tool's). */
  openlineage?: string;
  detail: string;
  href: string;
  status?: string;
  cached?: boolean;
}

export interface GraphEdge {
  source: string;
  target: string;
  label: string;
  /** A step run drawn as this edge (steps collapsed): its id, and whether it was cached. */
  step?: string;
  cached?: boolean;
}

/** Where the view stands: the zoom, and where `anchor` is drawn on the canvas. */
export interface GraphView {
  zoom: number;
  anchor: string;
  x: number;
  y: number;
  /** Nodes to bring into view (new ones), as far as the anchor stays in view. */
  reveal?: string[];
}

/** A drawn graph: release it, or read where the view stands (to keep it on a redraw). */
export interface GraphHandle {
  release: () => void;
  view: (anchor: string) => GraphView | null;
}

/** Which way a frontier node's cut neighbours lie. */
export type Side = "upstream" | "downstream";

export interface GraphOptions {
  /** The node the page is about: highlighted, the origin of up/downstream and of hops. */
  focus?: string;
  testid: string;
  caption: string;
  /** Where "re-centre here" goes for a node (the page keeps its direction and depth). */
  recentre?: (node: GraphNode) => string;
  /** Facts shown in the side panel for a clicked node (loaded when it is clicked). */
  details?: (node: GraphNode) => Promise<HTMLElement>;
  /** Nodes at the depth limit whose neighbours were cut: drawn with a "+" that expands them. */
  frontier?: Map<string, Side>;
  onExpand?: (node: GraphNode) => void;
  /** Keep this view instead of fitting the graph (a redraw after an expansion). */
  view?: GraphView;
  /** Step runs are drawn as labelled edges between versions. */
  collapsed?: boolean;
  /** Nodes not drawn but shown in the side panel: the step runs folded into edges. */
  hidden?: GraphNode[];
}

/** Which nodes lie upstream of `focus` (reach it) and which downstream (reached from it). */
export function relations(
  nodes: GraphNode[],
  edges: GraphEdge[],
  focus: string | undefined,
): Map<string, Relation> {
  const result = new Map<string, Relation>(nodes.map((n) => [n.id, "related" as Relation]));
  if (!focus || !result.has(focus)) return result;
  const walk = (next: Map<string, string[]>, relation: Relation): void => {
    const queue = [focus];
    const seen = new Set(queue);
    for (let i = 0; i < queue.length; i += 1) {
      for (const other of next.get(queue[i]) ?? []) {
        if (seen.has(other)) continue;
        seen.add(other);
        queue.push(other);
        if (result.get(other) === "related") result.set(other, relation);
      }
    }
  };
  const forward = new Map<string, string[]>();
  const backward = new Map<string, string[]>();
  for (const edge of edges) {
    if (!forward.has(edge.source)) forward.set(edge.source, []);
    if (!backward.has(edge.target)) backward.set(edge.target, []);
    forward.get(edge.source)?.push(edge.target);
    backward.get(edge.target)?.push(edge.source);
  }
  walk(backward, "upstream");
  walk(forward, "downstream");
  result.set(focus, "self");
  return result;
}

/** Artifact hops from `focus`: from a version, its producer and consumers are on hop 0 and
 * the versions they made or used on hop 1; from a step run, its inputs and outputs are on
 * hop 1 with the step runs that made or used them. An edge between two versions (a step run
 * drawn as an edge) is a whole hop, an edge to or from a step run half of one. */
export function hops(nodes: GraphNode[], edges: GraphEdge[], focus: string | undefined): Map<string, number> {
  const result = new Map<string, number>();
  const kind = new Map(nodes.map((n) => [n.id, n.kind]));
  const start = focus && kind.has(focus) ? focus : undefined;
  if (!start) return result;
  // Lengths in half hops: 2 between versions, 1 otherwise; a queue per length (Dial's).
  const next = new Map<string, [string, number][]>();
  for (const edge of edges) {
    const length = kind.get(edge.source) === "artifact" && kind.get(edge.target) === "artifact" ? 2 : 1;
    if (!next.has(edge.source)) next.set(edge.source, []);
    if (!next.has(edge.target)) next.set(edge.target, []);
    next.get(edge.source)?.push([edge.target, length]);
    next.get(edge.target)?.push([edge.source, length]);
  }
  const distance = new Map<string, number>([[start, 0]]);
  const buckets: string[][] = [[start]];
  for (let d = 0; d < buckets.length; d += 1) {
    for (const id of buckets[d] ?? []) {
      if (distance.get(id) !== d) continue;
      for (const [other, length] of next.get(id) ?? []) {
        const through = d + length;
        if ((distance.get(other) ?? Infinity) <= through) continue;
        distance.set(other, through);
        (buckets[through] ??= []).push(other);
      }
    }
  }
  const fromStep = kind.get(start) === "step";
  for (const [id, d] of distance) result.set(id, fromStep ? Math.ceil(d / 2) : Math.floor(d / 2));
  return result;
}

/** Step runs with inputs and outputs drawn as edges from each input to each output, labelled
 * with the step's name; step runs without either (a first step), and `keep`, stay nodes. */
export function collapseSteps(
  nodes: GraphNode[],
  edges: GraphEdge[],
  keep?: string,
): { nodes: GraphNode[]; edges: GraphEdge[] } {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const inputs = new Map<string, string[]>();
  const outputs = new Map<string, string[]>();
  for (const edge of edges) {
    if (byId.get(edge.target)?.kind === "step") inputs.set(edge.target, [...(inputs.get(edge.target) ?? []), edge.source]);
    if (byId.get(edge.source)?.kind === "step") outputs.set(edge.source, [...(outputs.get(edge.source) ?? []), edge.target]);
  }
  const folded = new Set(
    nodes.filter((n) => n.kind === "step" && n.id !== keep && inputs.has(n.id) && outputs.has(n.id)).map((n) => n.id),
  );
  const kept = edges.filter((e) => !folded.has(e.source) && !folded.has(e.target));
  const seen = new Set(kept.map((e) => `${e.source} ${e.target} ${e.label}`));
  for (const id of folded) {
    const step = byId.get(id);
    if (!step) continue;
    for (const source of inputs.get(id) ?? []) {
      for (const target of outputs.get(id) ?? []) {
        const key = `${source} ${target} ${step.label}`;
        if (seen.has(key)) continue;
        seen.add(key);
        kept.push({ source, target, label: step.label, step: id, cached: step.cached });
      }
    }
  }
  return { nodes: nodes.filter((n) => !folded.has(n.id)), edges: kept };
}
