// Pipeline runs, newest first.

import { query } from "../api";
import { formatDate, h, statusBadge } from "../dom";
import { type Connection, RUNS, type RunSummary } from "../queries";
import { links, type Route } from "../route";
import { formatDuration } from "../time";
import { loadMore } from "../widgets";

const PAGE = 50;

export async function runsPage(main: HTMLElement, route: Route): Promise<void> {
  const pipeline = route.params.get("pipeline") ?? "";
  const filter = pipeline ? { pipelineName: pipeline } : null;
  const first = await query<{ pipelineRuns: Connection<RunSummary> }>(RUNS, { first: PAGE, filter });
  const body = h("tbody", {});
  const addRows = (conn: Connection<RunSummary>): void => {
    for (const { node } of conn.edges) {
      body.append(
        h(
          "tr",
          { "data-testid": "run-row" },
          h("td", {}, h("a", { href: links.run(node.id), "data-testid": "run-link" }, node.name)),
          h("td", {}, h("a", { href: links.pipeline(node.pipeline.name) }, node.pipeline.name)),
          h("td", {}, statusBadge(node.status)),
          h("td", {}, formatDate(node.startedAt)),
          h("td", { className: "num", "data-testid": "run-duration" }, formatDuration(node.startedAt, node.endedAt, node.status)),
        ),
      );
    }
  };
  addRows(first.pipelineRuns);
  main.replaceChildren(
    h("h1", {}, pipeline ? `Runs of ${pipeline}` : "Pipeline runs"),
    h("p", { className: "muted" }, `${first.pipelineRuns.totalCount} runs, newest first`),
    h(
      "table",
      { className: "list", "data-testid": "run-results" },
      h("thead", {}, h("tr", {}, ["Run", "Pipeline", "Status", "Started", "Duration"].map((t) => h("th", { scope: "col" }, t)))),
      body,
    ),
    loadMore(first.pipelineRuns.pageInfo, async (after) => {
      const next = await query<{ pipelineRuns: Connection<RunSummary> }>(RUNS, { first: PAGE, after, filter });
      addRows(next.pipelineRuns);
      return next.pipelineRuns.pageInfo;
    }),
  );
}
