// Draws a directed graph with Cytoscape.js and the dagre layout, and lists the same nodes as
// links beside it: the canvas is for the eye, the list for keyboards, screen readers and tests.

import cytoscape from "cytoscape";
import dagre from "cytoscape-dagre";
import { h } from "./dom";

cytoscape.use(dagre);

export type Relation = "self" | "upstream" | "downstream" | "related";

export interface GraphNode {
  id: string;
  kind: "artifact" | "step";
  label: string;
  detail: string;
  href: string;
  status?: string;
  cached?: boolean;
}

export interface GraphEdge {
  source: string;
  target: string;
  label: string;
}

export interface GraphOptions {
  /** The node the page is about: highlighted, and the origin of up/downstream. */
  focus?: string;
  testid: string;
  caption: string;
}

const STATUS_COLORS: Record<string, string> = {
  COMPLETED: "#2e7d32",
  CACHED: "#6b7280",
  FAILED: "#c62828",
  RUNNING: "#1565c0",
};

const STYLE: cytoscape.StylesheetJson = [
  {
    selector: "node",
    style: {
      label: "data(label)",
      "text-wrap": "wrap",
      "text-max-width": "150px",
      "text-valign": "center",
      "text-halign": "center",
      "font-size": "11px",
      "font-family": "system-ui, sans-serif",
      color: "#111827",
      width: 160,
      height: 46,
      "border-width": 2,
    },
  },
  {
    selector: "node.artifact",
    style: {
      shape: "round-rectangle",
      "background-color": "#e8f0fb",
      "border-color": "#2f6fb3",
    },
  },
  {
    selector: "node.step",
    style: {
      shape: "cut-rectangle",
      "background-color": "#fdf6e3",
      "border-color": "data(color)",
      "border-width": 3,
    },
  },
  {
    selector: "node.cached",
    style: { "border-style": "dashed", "background-color": "#f3f4f6" },
  },
  {
    selector: "node.focus",
    style: { "border-width": 5, "border-color": "#111827", "font-weight": "bold" },
  },
  {
    selector: "edge",
    style: {
      width: 1.5,
      "curve-style": "bezier",
      "line-color": "#9ca3af",
      "target-arrow-color": "#9ca3af",
      "target-arrow-shape": "triangle",
      label: "data(label)",
      "font-size": "9px",
      color: "#4b5563",
      "text-background-color": "#ffffff",
      "text-background-opacity": 1,
      "text-rotation": "autorotate",
    },
  },
];

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
    while (queue.length > 0) {
      for (const other of next.get(queue.shift() as string) ?? []) {
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
    forward.set(edge.source, [...(forward.get(edge.source) ?? []), edge.target]);
    backward.set(edge.target, [...(backward.get(edge.target) ?? []), edge.source]);
  }
  walk(backward, "upstream");
  walk(forward, "downstream");
  result.set(focus, "self");
  return result;
}

const RELATION_ORDER: Relation[] = ["self", "upstream", "downstream", "related"];
const RELATION_TEXT: Record<Relation, string> = {
  self: "this",
  upstream: "upstream",
  downstream: "downstream",
  related: "related",
};

/** Renders the graph into `host`; returns a function that releases the Cytoscape instance. */
export function drawGraph(
  host: HTMLElement,
  nodes: GraphNode[],
  edges: GraphEdge[],
  options: GraphOptions,
): () => void {
  const ids = new Set(nodes.map((n) => n.id));
  const shown = edges.filter((e) => ids.has(e.source) && ids.has(e.target));
  const relation = relations(nodes, shown, options.focus);

  const canvas = h("div", {
    className: "graph-canvas",
    "data-testid": `${options.testid}-canvas`,
    role: "img",
    "aria-label": `${options.caption}: ${nodes.length} nodes, ${shown.length} edges (listed below)`,
  });
  const legend = h(
    "p",
    { className: "legend muted" },
    h("span", { className: "swatch swatch-artifact" }),
    " artifact version ",
    h("span", { className: "swatch swatch-step" }),
    " step run (border: status) ",
    h("span", { className: "swatch swatch-cached" }),
    " cached step run. Click a node to open it; scroll to zoom, drag to pan.",
  );
  const sorted = [...nodes].sort(
    (a, b) =>
      RELATION_ORDER.indexOf(relation.get(a.id) ?? "related") -
        RELATION_ORDER.indexOf(relation.get(b.id) ?? "related") ||
      a.kind.localeCompare(b.kind) ||
      a.label.localeCompare(b.label),
  );
  const list = h(
    "ul",
    { className: "node-list", "data-testid": `${options.testid}-nodes` },
    sorted.map((node) => {
      const rel = relation.get(node.id) ?? "related";
      return h(
        "li",
        {},
        h(
          "a",
          {
            href: node.href,
            className: `node-link node-${node.kind}`,
            "data-testid": "graph-node",
            "data-node-id": node.id,
            "data-node-kind": node.kind,
            "data-relation": rel,
            "data-status": node.status,
            "data-cached": node.cached ? "true" : "false",
            "aria-current": rel === "self" ? "page" : null,
          },
          options.focus ? h("span", { className: `rel rel-${rel}` }, RELATION_TEXT[rel], " ") : null,
          h("span", { className: "kind" }, node.kind === "step" ? "step run" : "version"),
          " ",
          h("strong", {}, node.label.replace(/\n:/g, ":").replace(/\n/g, " ")),
          " ",
          h("span", { className: "muted" }, node.detail),
          node.cached ? h("span", { className: "badge status-cached" }, "cached") : null,
        ),
      );
    }),
  );
  host.replaceChildren(
    h(
      "div",
      { className: "graph", "data-testid": options.testid, "data-node-count": nodes.length },
      canvas,
      legend,
      h("nav", { "aria-label": `${options.caption}: nodes` }, list),
    ),
  );

  const cy = cytoscape({
    container: canvas,
    elements: [
      ...nodes.map((node) => ({
        group: "nodes" as const,
        data: {
          id: node.id,
          label: node.label,
          href: node.href,
          color: STATUS_COLORS[node.status ?? ""] ?? "#6b7280",
        },
        classes: [node.kind, node.cached ? "cached" : "", node.id === options.focus ? "focus" : ""]
          .filter(Boolean)
          .join(" "),
      })),
      ...shown.map((edge, index) => ({
        group: "edges" as const,
        data: { id: `e${index}`, source: edge.source, target: edge.target, label: edge.label },
      })),
    ],
    style: STYLE,
    layout: { name: "dagre", rankDir: "LR", nodeSep: 24, rankSep: 70, padding: 24 } as cytoscape.LayoutOptions,
    minZoom: 0.15,
    maxZoom: 1.6,
    boxSelectionEnabled: false,
    autoungrabify: true,
  });
  cy.on("tap", "node", (event) => {
    const href = event.target.data("href") as string;
    if (href) location.hash = href.replace(/^#/, "");
  });
  // Where each node is drawn, in canvas pixels, on its list entry: lets tests (and tools that
  // cannot read a canvas) click a node where it is drawn.
  const entries = new Map(
    [...list.querySelectorAll<HTMLAnchorElement>("a[data-node-id]")].map((a) => [a.dataset.nodeId, a]),
  );
  const publish = (): void => {
    cy.nodes().forEach((node) => {
      const entry = entries.get(node.id());
      if (!entry) return;
      const { x, y } = node.renderedPosition();
      entry.dataset.x = String(Math.round(x));
      entry.dataset.y = String(Math.round(y));
    });
  };
  cy.on("layoutstop viewport resize", publish);
  cy.ready(publish);
  cy.on("mouseover", "node", () => canvas.classList.add("pointer"));
  cy.on("mouseout", "node", () => canvas.classList.remove("pointer"));
  host.querySelector(".graph")?.setAttribute("data-ready", "true");
  return () => cy.destroy();
}
