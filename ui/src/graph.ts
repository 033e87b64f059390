// Draws a directed graph with Cytoscape.js and the dagre layout, as an explorer: zoom and fit
// buttons, an overview of the whole graph, a side panel for the clicked node, and beside it
// the same nodes as links grouped by hop (for keyboards, screen readers and tests).

import cytoscape from "cytoscape";
import dagre from "cytoscape-dagre";
import { aliasBadges, h } from "./dom";
import { openLineageMarker } from "./openlineage";

cytoscape.use(dagre);

import {
  hops,
  relations,
  type GraphEdge,
  type GraphHandle,
  type GraphNode,
  type GraphOptions,
  type GraphView,
  type Relation,
  type Side,
} from "./graphdata";

export { collapseSteps } from "./graphdata";
export type { GraphEdge, GraphHandle, GraphNode, GraphOptions, GraphView, Side };

const STATUS_COLORS: Record<string, string> = {
  COMPLETED: "#2e7d32",
  CACHED: "#6b7280",
  FAILED: "#c62828",
  RUNNING: "#1565c0",
  ABANDONED: "#b45309",
};

/** Label size in graph units; the view never zooms out below LEGIBLE_PX on screen. */
export const FONT_SIZE = 13;
const LEGIBLE_PX = 10;
export const MIN_ZOOM = LEGIBLE_PX / FONT_SIZE;
const MAX_ZOOM = 2;
const CHAR_WIDTH = 7.6; // a generous average for FONT_SIZE in system-ui
const EDGE_FONT = 11;

/** `name:version @alias …`: one line, aliases after the version. */
function drawnLabel(node: GraphNode): string {
  return node.aliases?.length ? `${node.label}  @${node.aliases.join(" @")}` : node.label;
}

function nodeWidth(label: string): number {
  return Math.max(90, Math.ceil(label.length * CHAR_WIDTH) + 28);
}

const STYLE: cytoscape.StylesheetJson = [
  {
    selector: "node",
    style: {
      label: "data(label)",
      "text-wrap": "none",
      "text-valign": "center",
      "text-halign": "center",
      "font-size": `${FONT_SIZE}px`,
      "font-family": "system-ui, sans-serif",
      color: "#111827",
      width: "data(width)",
      height: 34,
      "border-width": 2,
    },
  },
  {
    selector: "node.artifact",
    style: { shape: "round-rectangle", "background-color": "#e8f0fb", "border-color": "#2f6fb3" },
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
  { selector: "node.frontier", style: { "border-style": "double", "border-width": 6 } },
  {
    selector: "node.more",
    style: {
      shape: "ellipse",
      height: 30,
      "background-color": "#fef3c7",
      "border-color": "#d97706",
      "border-width": 2,
      "font-size": "22px",
      "font-weight": "bold",
      color: "#92400e",
    },
  },
  { selector: "node.openlineage", style: { "background-color": "#f3e8ff", "border-color": "#7c3aed" } },
  { selector: "node.cached", style: { "border-style": "dashed", "background-color": "#f3f4f6" } },
  { selector: "node.focus", style: { "border-width": 5, "border-color": "#111827", "font-weight": "bold" } },
  { selector: "node.selected", style: { "overlay-color": "#f59e0b", "overlay-opacity": 0.25, "overlay-padding": 6 } },
  {
    selector: "edge",
    style: {
      width: 1.5,
      "curve-style": "bezier",
      "line-color": "#9ca3af",
      "target-arrow-color": "#9ca3af",
      "target-arrow-shape": "triangle",
      label: "data(label)",
      "font-size": `${EDGE_FONT}px`,
      color: "#374151",
      "text-wrap": "none",
      "text-rotation": "none",
      "text-background-color": "#ffffff",
      "text-background-opacity": 1,
      "text-background-padding": "2px",
      "text-events": "no",
    },
  },
  { selector: "edge.cached", style: { "line-style": "dashed" } },
  { selector: "edge.selected", style: { width: 4, "line-color": "#f59e0b", "target-arrow-color": "#f59e0b" } },
  { selector: "edge.step-edge", style: { color: "#92400e", "line-color": "#b08d57", "target-arrow-color": "#b08d57" } },
  { selector: "edge.more", style: { "line-style": "dashed", "line-color": "#d97706", "target-arrow-color": "#d97706" } },
];

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });
/** Natural order: `chain:6` before `chain:10`. */
export const naturally = (a: string, b: string): number => collator.compare(a, b);

const RELATION_ORDER: Relation[] = ["self", "upstream", "downstream", "related"];
const RELATION_TEXT: Record<Relation, string> = {
  self: "this",
  upstream: "upstream",
  downstream: "downstream",
  related: "related",
};

function button(label: string, testid: string, title: string): HTMLButtonElement {
  return h("button", { type: "button", className: "graph-button", "data-testid": testid, title, "aria-label": title }, label);
}

/** Renders the graph into `host`; returns a function that releases the Cytoscape instance. */
export function drawGraph(
  host: HTMLElement,
  nodes: GraphNode[],
  edges: GraphEdge[],
  options: GraphOptions,
): GraphHandle {
  const started = performance.now();
  const ids = new Set(nodes.map((n) => n.id));
  const shown = edges.filter((e) => ids.has(e.source) && ids.has(e.target));
  const relation = relations(nodes, shown, options.focus);
  const hop = hops(nodes, shown, options.focus);
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const frontier = options.frontier ?? new Map<string, Side>();

  const canvas = h("div", {
    className: "graph-canvas",
    "data-testid": `${options.testid}-canvas`,
    role: "img",
    "aria-label": `${options.caption}: ${nodes.length} nodes, ${shown.length} edges (listed below)`,
  });
  const overview = h("canvas", {
    className: "graph-overview",
    width: 200,
    height: 130,
    "data-testid": `${options.testid}-overview`,
    title: "Overview: click to move there",
  });
  const zoomIn = button("+", "zoom-in", "Zoom in");
  const zoomOut = button("−", "zoom-out", "Zoom out");
  const fit = button("Fit", "zoom-fit", "Fit the graph (as far as labels stay legible)");
  const centre = button("◎", "zoom-focus", "Centre on this node");
  const tools = h("div", { className: "graph-tools", role: "toolbar", "aria-label": "Graph view" }, zoomIn, zoomOut, fit, options.focus ? centre : null);
  const panel = h("aside", { className: "graph-panel", "data-testid": "node-panel", hidden: true, "aria-live": "polite" });
  const stage = h("div", { className: "graph-stage" }, canvas, tools, overview);

  const legend = h(
    "p",
    { className: "legend muted" },
    h("span", { className: "swatch swatch-artifact" }),
    " artifact version ",
    options.collapsed
      ? [" arrows: the step run that made one version from another (dashed: cached); a first step stays a box. "]
      : [h("span", { className: "swatch swatch-step" }), " step run (border: status) ", h("span", { className: "swatch swatch-cached" }), " cached step run. "],
    frontier.size > 0 ? [h("span", { className: "swatch swatch-more" }), " the depth cut here: click + to expand. "] : null,
    nodes.some((n) => n.openlineage) ? [h("span", { className: "swatch swatch-openlineage" }), " from OpenLineage events. "] : null,
    "Click a node for its details; drag to pan, scroll or the buttons to zoom.",
  );
  const expandButton = (node: GraphNode, testid: string): HTMLButtonElement | null => {
    const side = frontier.get(node.id);
    if (!side || !options.onExpand) return null;
    const b = h(
      "button",
      { type: "button", className: "expand", "data-testid": testid, "data-node-id": node.id, "data-side": side, title: `Show what lies ${side} of ${node.label}` },
      `+ expand ${side}`,
    );
    b.addEventListener("click", () => {
      b.disabled = true;
      options.onExpand?.(node);
    });
    return b;
  };

  // The node list: grouped by hop from the focus, each group in natural order.
  const sortKey = (a: GraphNode, b: GraphNode): number =>
    RELATION_ORDER.indexOf(relation.get(a.id) ?? "related") - RELATION_ORDER.indexOf(relation.get(b.id) ?? "related") ||
    a.kind.localeCompare(b.kind) ||
    naturally(a.label, b.label) ||
    naturally(a.detail, b.detail);
  const groups = new Map<number, GraphNode[]>();
  for (const node of nodes) {
    const key = hop.get(node.id) ?? -1;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key)?.push(node);
  }
  const entry = (node: GraphNode): HTMLElement => {
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
          "data-hop": hop.get(node.id),
          "data-label": node.label,
          "data-aliases": node.aliases?.length ? node.aliases.join(" ") : null,
          "data-openlineage": node.openlineage ?? null,
          "data-status": node.status,
          "data-cached": node.cached ? "true" : "false",
          "aria-current": rel === "self" ? "page" : null,
        },
        options.focus ? h("span", { className: `rel rel-${rel}` }, RELATION_TEXT[rel], " ") : null,
        h("span", { className: "kind" }, node.kind === "step" ? "step run" : "version"),
        " ",
        h("strong", {}, node.label),
        " ",
        node.aliases?.length ? [aliasBadges(node.aliases), " "] : null,
        node.openlineage ? [openLineageMarker(node.openlineage), " "] : null,
        h("span", { className: "muted" }, node.detail),
        node.status && node.kind === "step" ? h("span", { className: `badge status-${node.status.toLowerCase()}` }, node.status.toLowerCase()) : null,
      ),
      " ",
      expandButton(node, "expand-node"),
    );
  };
  const list = h(
    "div",
    { className: "node-groups", "data-testid": `${options.testid}-nodes` },
    [...groups.keys()]
      .sort((a, b) => (a < 0 ? 1 : b < 0 ? -1 : a - b))
      .map((key) => {
        const members = (groups.get(key) ?? []).sort(sortKey);
        const title = key < 0 ? "Nodes" : key === 0 ? (members.length > 1 ? "This node and its step runs" : "This node") : `Hop ${key}`;
        return h(
          "section",
          { className: "node-group", "data-testid": "node-group", "data-hop": key },
          h("h3", {}, `${title} (${members.length})`),
          h("ul", { className: "node-list" }, members.map(entry)),
        );
      }),
  );
  const graphEl = h(
    "div",
    { className: "graph", "data-testid": options.testid, "data-node-count": nodes.length, "data-edge-count": shown.length, "data-collapsed": options.collapsed ? "true" : "false", "data-frontier-count": frontier.size },
    h("div", { className: "graph-main" }, stage, panel),
    legend,
    h("nav", { "aria-label": `${options.caption}: nodes` }, list),
  );
  host.replaceChildren(graphEl);
  const listed = performance.now();

  const longestEdgeLabel = shown.reduce((max, e) => Math.max(max, e.label.length), 0);
  const cy = cytoscape({
    container: canvas,
    elements: [
      ...nodes.map((node) => ({
        group: "nodes" as const,
        data: {
          id: node.id,
          label: drawnLabel(node),
          width: nodeWidth(drawnLabel(node)),
          color: STATUS_COLORS[node.status ?? ""] ?? "#6b7280",
        },
        classes: [node.kind, node.cached ? "cached" : "", node.id === options.focus ? "focus" : "", frontier.has(node.id) ? "frontier" : "", node.openlineage ? "openlineage" : ""]
          .filter(Boolean)
          .join(" "),
      })),
      ...shown.map((edge, index) => ({
        group: "edges" as const,
        data: { id: `e${index}`, source: edge.source, target: edge.target, label: edge.label, step: edge.step },
        classes: [edge.step ? "step-edge" : "", edge.cached ? "cached" : ""].filter(Boolean).join(" "),
      })),
      // A "+" beside each frontier node, on the side the depth cut: clicking it expands.
      ...[...frontier.entries()]
        .filter(([id]) => byId.has(id) && options.onExpand)
        .flatMap(([id, side]) => [
          { group: "nodes" as const, data: { id: `more:${id}`, of: id, label: "+", width: 30 }, classes: "more" },
          {
            group: "edges" as const,
            data: { id: `more-edge:${id}`, source: side === "upstream" ? `more:${id}` : id, target: side === "upstream" ? id : `more:${id}`, label: "" },
            classes: "more",
          },
        ]),
    ],
    style: STYLE,
    // Ranks far enough apart for the longest edge label to sit between them, unclipped.
    layout: { name: "preset" },
    minZoom: MIN_ZOOM,
    maxZoom: MAX_ZOOM,
    boxSelectionEnabled: false,
    autoungrabify: true,
    textureOnViewport: nodes.length > 300,
    hideEdgesOnViewport: nodes.length > 800,
  });

  const created = performance.now();
  cy.layout({
    name: "dagre",
    rankDir: "LR",
    nodeSep: 18,
    rankSep: Math.max(70, Math.ceil(longestEdgeLabel * EDGE_FONT * 0.62) + 40),
    edgeSep: 10,
    ranker: nodes.length > 150 ? "longest-path" : "network-simplex", // much faster on big graphs
    padding: 30,
    fit: false,
    animate: false,
  } as cytoscape.LayoutOptions).run();
  const laidOut = performance.now();
  const focusNode = options.focus ? cy.getElementById(options.focus) : null;
  // Boxes of the nodes' bodies only: their widths already hold their labels, and measuring
  // every label (edge labels too) first costs a quarter of a second at 500 nodes.
  const bodies = { includeLabels: false, includeOverlays: false } as const;
  const nodesBox = (): cytoscape.BoundingBox12 & cytoscape.BoundingBoxWH => cy.nodes().boundingBox(bodies);
  /** The whole graph if it fits at a legible zoom, else the focus at the smallest such zoom. */
  const home = (): void => {
    const width = canvas.clientWidth || 800;
    const height = canvas.clientHeight || 500;
    const box = nodesBox();
    const fitting = Math.min((width - 60) / Math.max(box.w, 1), (height - 60) / Math.max(box.h, 1), 1.2);
    if (fitting >= MIN_ZOOM) {
      cy.viewport({
        zoom: fitting,
        pan: { x: width / 2 - ((box.x1 + box.x2) / 2) * fitting, y: height / 2 - ((box.y1 + box.y2) / 2) * fitting },
      });
      return;
    }
    const at = focusNode && focusNode.nonempty() ? focusNode.position() : { x: box.x1 + (width / 2 - 30) / MIN_ZOOM, y: (box.y1 + box.y2) / 2 };
    let pan = { x: width / 2 - at.x * MIN_ZOOM, y: height / 2 - at.y * MIN_ZOOM };
    // No empty half-screen beside the focus: keep the graph against the edges it reaches.
    const left = box.x1 * MIN_ZOOM + pan.x;
    const right = box.x2 * MIN_ZOOM + pan.x;
    if (right < width - 30) pan = { ...pan, x: pan.x + width - 30 - right };
    else if (left > 30) pan = { ...pan, x: pan.x + 30 - left };
    cy.viewport({ zoom: MIN_ZOOM, pan });
  };
  const stepZoom = (factor: number): void => {
    cy.zoom({ level: cy.zoom() * factor, renderedPosition: { x: canvas.clientWidth / 2, y: canvas.clientHeight / 2 } });
  };
  /** The given view: the same zoom, the anchor where it was drawn, then panned as little as
   * brings the nodes to reveal into view while the anchor stays in it. */
  const restore = (view: GraphView): boolean => {
    const anchor = cy.getElementById(view.anchor);
    if (anchor.empty()) return false;
    cy.zoom(view.zoom);
    const p = anchor.position();
    cy.pan({ x: view.x - p.x * cy.zoom(), y: view.y - p.y * cy.zoom() });
    let reveal = cy.collection();
    for (const id of view.reveal ?? []) reveal = reveal.union(cy.getElementById(id)).union(cy.getElementById(`more:${id}`));
    if (reveal.nonempty()) {
      const margin = 30;
      const width = canvas.clientWidth || 800;
      const height = canvas.clientHeight || 500;
      const box = reveal.union(anchor).renderedBoundingBox();
      const at = anchor.renderedPosition();
      const shift = (low: number, high: number, size: number, here: number): number => {
        const wanted = low < margin ? margin - low : high > size - margin ? size - margin - high : 0;
        return Math.min(Math.max(wanted, margin - here), size - margin - here);
      };
      cy.panBy({ x: shift(box.x1, box.x2, width, at.x), y: shift(box.y1, box.y2, height, at.y) });
    }
    return true;
  };
  zoomIn.addEventListener("click", () => stepZoom(1.25));
  zoomOut.addEventListener("click", () => stepZoom(0.8));
  fit.addEventListener("click", () => {
    cy.fit(undefined, 30); // clamped at the legible zoom: beyond it the overview shows the rest
  });
  centre.addEventListener("click", () => {
    if (focusNode && focusNode.nonempty()) cy.center(focusNode);
  });

  // The overview: every node as a dot, the visible part as a frame; a click moves there.
  const box = nodesBox;
  const drawOverview = (): void => {
    const ctx = overview.getContext("2d");
    if (!ctx) return;
    const b = box();
    const scale = Math.min((overview.width - 10) / Math.max(b.w, 1), (overview.height - 10) / Math.max(b.h, 1));
    const ox = 5 - b.x1 * scale;
    const oy = 5 - b.y1 * scale;
    ctx.clearRect(0, 0, overview.width, overview.height);
    ctx.fillStyle = "rgba(255,255,255,0.92)";
    ctx.fillRect(0, 0, overview.width, overview.height);
    cy.nodes().forEach((n) => {
      const p = n.position();
      const w = Math.max(2, n.width() * scale);
      const hgt = Math.max(2, n.height() * scale);
      ctx.fillStyle = n.hasClass("focus") ? "#111827" : n.hasClass("step") ? "#d97706" : "#2f6fb3";
      ctx.fillRect(ox + p.x * scale - w / 2, oy + p.y * scale - hgt / 2, w, hgt);
    });
    const ext = cy.extent();
    ctx.strokeStyle = "#f59e0b";
    ctx.lineWidth = 2;
    ctx.strokeRect(ox + ext.x1 * scale, oy + ext.y1 * scale, ext.w * scale, ext.h * scale);
    overview.dataset.scale = String(scale);
    overview.dataset.ox = String(ox);
    overview.dataset.oy = String(oy);
  };
  overview.addEventListener("click", (event) => {
    const scale = Number(overview.dataset.scale);
    if (!scale) return;
    const rect = overview.getBoundingClientRect();
    const gx = (event.clientX - rect.left - Number(overview.dataset.ox)) / scale;
    const gy = (event.clientY - rect.top - Number(overview.dataset.oy)) / scale;
    const z = cy.zoom();
    cy.pan({ x: canvas.clientWidth / 2 - gx * z, y: canvas.clientHeight / 2 - gy * z });
  });

  // The side panel: what the clicked node is, links to open it or re-centre the graph on it.
  let selected: cytoscape.SingularElementArgument | null = null;
  let panelGeneration = 0;
  const closePanel = (): void => {
    panel.hidden = true;
    selected?.removeClass("selected");
    selected = null;
    graphEl.removeAttribute("data-selected");
  };
  const folded = new Map((options.hidden ?? []).map((n) => [n.id, n]));
  const openPanel = (id: string, element?: cytoscape.SingularElementArgument): void => {
    const node = byId.get(id) ?? folded.get(id);
    if (!node) return;
    selected?.removeClass("selected");
    selected = element ?? cy.getElementById(id);
    selected.addClass("selected");
    graphEl.dataset.selected = id;
    const mine = ++panelGeneration;
    const more = h("div", { className: "panel-details", "data-testid": "node-panel-details" }, h("p", { className: "muted" }, "Loading…"));
    const close = h("button", { type: "button", className: "panel-close", "data-testid": "node-panel-close", "aria-label": "Close" }, "×");
    close.addEventListener("click", closePanel);
    panel.replaceChildren(
      close,
      h("p", { className: "kind" }, node.kind === "step" ? "step run" : "artifact version", node.id === options.focus ? " · this page" : ""),
      h("h3", { "data-testid": "node-panel-title" }, node.label),
      node.status ? h("p", {}, h("span", { className: `badge status-${node.status.toLowerCase()}` }, node.status)) : "",
      node.detail ? h("p", { className: "muted" }, node.detail) : "",
      h(
        "p",
        { className: "panel-actions" },
        h("a", { href: node.href, className: "action", "data-testid": "node-panel-open" }, "Open"),
        options.recentre && node.id !== options.focus
          ? h("a", { href: options.recentre(node), className: "action", "data-testid": "node-panel-recentre" }, "Re-centre here")
          : null,
      ),
      expandButton(node, "node-panel-expand") ?? "",
      more,
    );
    panel.hidden = false;
    if (options.details) {
      options
        .details(node)
        .then((el) => {
          if (mine === panelGeneration) more.replaceChildren(el);
        })
        .catch((error: unknown) => {
          if (mine === panelGeneration) more.replaceChildren(h("p", { className: "muted" }, `Could not load the details: ${String(error)}`));
        });
    } else {
      more.replaceChildren();
    }
  };
  cy.on("tap", "node", (event) => {
    const of = event.target.data("of") as string | undefined;
    const expanding = of ? byId.get(of) : undefined;
    if (expanding) options.onExpand?.(expanding);
    else openPanel(event.target.id() as string);
  });
  // A step folded into an edge: tapping the edge opens the step's panel.
  cy.on("tap", "edge.step-edge", (event) => openPanel(event.target.data("step") as string, event.target));
  cy.on("tap", (event) => {
    if (event.target === cy) closePanel();
  });

  // Where each node is drawn, in canvas pixels, on its list entry: lets tests (and tools that
  // cannot read a canvas) click a node where it is drawn.
  const entries = new Map(
    [...list.querySelectorAll<HTMLAnchorElement>("a[data-node-id]")].map((a) => [a.dataset.nodeId, a]),
  );
  let frame = 0;
  const publish = (): void => {
    frame = 0;
    cy.nodes().forEach((node) => {
      const link = entries.get(node.id());
      if (!link) return;
      const { x, y } = node.renderedPosition();
      link.dataset.x = String(Math.round(x));
      link.dataset.y = String(Math.round(y));
    });
    cy.nodes(".more").forEach((more) => {
      const link = entries.get(more.data("of") as string);
      if (!link) return;
      const { x, y } = more.renderedPosition();
      link.dataset.moreX = String(Math.round(x));
      link.dataset.moreY = String(Math.round(y));
    });
    graphEl.dataset.zoom = cy.zoom().toFixed(3);
    // The labels' size on screen as Cytoscape draws them (its rendered style of a node).
    const drawn = cy.nodes(".artifact, .step").first();
    const fontPx = drawn.nonempty() ? parseFloat(String(drawn.renderedStyle("font-size"))) : cy.zoom() * FONT_SIZE;
    graphEl.dataset.labelPx = fontPx.toFixed(1);
    drawOverview();
  };
  const schedule = (): void => {
    if (!frame) frame = requestAnimationFrame(publish);
  };
  cy.on("viewport resize", schedule);
  const t0 = performance.now();
  if (!options.view || !restore(options.view)) home();
  const t1 = performance.now();
  publish();
  const t2 = performance.now();
  // Where the time went, for the browser test's report.
  graphEl.dataset.timings = `Cytoscape ${Math.round(created - listed)} ms, dagre ${Math.round(laidOut - created)} ms, view ${Math.round(t1 - t0)} ms, node positions ${Math.round(t2 - t1)} ms`;
  cy.on("mouseover", "node", () => canvas.classList.add("pointer"));
  cy.on("mouseout", "node", () => canvas.classList.remove("pointer"));
  graphEl.dataset.layoutMs = String(Math.round(performance.now() - started));
  graphEl.dataset.listMs = String(Math.round(listed - started));
  graphEl.dataset.readyAt = String(Math.round(performance.now()));
  graphEl.setAttribute("data-ready", "true");
  return {
    release: () => {
      if (frame) cancelAnimationFrame(frame);
      cy.destroy();
    },
    view: (anchor) => {
      const node = cy.getElementById(anchor);
      if (node.empty()) return null;
      const { x, y } = node.renderedPosition();
      return { zoom: cy.zoom(), anchor, x, y };
    },
  };
}
