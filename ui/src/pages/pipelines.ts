// Pipelines: each with its run count, success rate and last run; a pipeline's runs, newest first.

import { QueryError, query } from "../api";
import { facts, formatDate, h, statusBadge } from "../dom";
import {
  type Connection,
  type LastRun,
  PIPELINE,
  PIPELINE_COUNTS,
  PIPELINES,
  type PipelineDetail,
  type PipelineRunRow,
  type PipelineCounted,
  type RunCounts,
} from "../queries";
import { links, type Route } from "../route";
import { formatDuration } from "../time";
import { loadMore, section } from "../widgets";

const PAGE = 50;

/** Succeeded (COMPLETED or CACHED) out of finished (those plus FAILED and ABANDONED). */
export function successRate(succeeded: number, failed: number): { text: string; succeeded: number; finished: number } {
  const finished = succeeded + failed;
  if (finished === 0) return { text: "-", succeeded, finished };
  return { text: `${Math.round((100 * succeeded) / finished)}% (${succeeded} of ${finished})`, succeeded, finished };
}

function lastRunCell(run: LastRun | null): HTMLElement {
  if (!run) return h("span", { className: "muted" }, "never run");
  return h(
    "span",
    { "data-testid": "last-run" },
    statusBadge(run.status, "last-run-status"),
    " ",
    h("a", { href: links.run(run.id), "data-testid": "last-run-link" }, formatDate(run.startedAt)),
    " · ",
    h("span", { "data-testid": "last-run-duration" }, formatDuration(run.startedAt, run.endedAt, run.status)),
  );
}

function countsText(counts: RunCounts): string {
  const parts: string[] = [];
  for (const key of ["completed", "cached", "failed", "abandoned", "running"] as const) {
    if (counts[key].totalCount > 0) parts.push(`${counts[key].totalCount} ${key}`);
  }
  return parts.join(", ");
}

export async function pipelinesPage(main: HTMLElement): Promise<void> {
  // The counts are the pipeline's own fields, exact over all its runs, in the same request.
  const first = await query<{ pipelines: Connection<PipelineCounted> }>(PIPELINES, { first: PAGE });
  const body = h("tbody", {});
  const addRows = (conn: Connection<PipelineCounted>): void => {
    conn.edges.forEach(({ node }) => {
      const rate = successRate(node.successCount, node.failureCount);
      const running = node.runCount - node.successCount - node.failureCount;
      body.append(
        h(
          "tr",
          {
            "data-testid": "pipeline-row",
            "data-name": node.name,
            "data-runs": node.runCount,
            "data-succeeded": rate.succeeded,
            "data-finished": rate.finished,
          },
          h("td", {}, h("a", { href: links.pipeline(node.name), "data-testid": "pipeline-link" }, node.name)),
          h(
            "td",
            { className: "num", "data-testid": "run-count", title: `${node.successCount} succeeded, ${node.failureCount} failed, ${running} running` },
            node.runCount,
          ),
          h("td", { className: "num", "data-testid": "success-rate" }, rate.text),
          h("td", {}, lastRunCell(node.lastRun)),
        ),
      );
    });
  };
  addRows(first.pipelines);
  const total = first.pipelines.totalCount;
  main.replaceChildren(
    h("h1", {}, "Pipelines"),
    h(
      "p",
      { className: "muted", "data-testid": "pipeline-count" },
      `${total} pipeline${total === 1 ? "" : "s"}, by name. Success rate: COMPLETED or CACHED runs out of ` +
        "finished ones (those and FAILED or ABANDONED); running runs are not counted.",
    ),
    total === 0
      ? h("p", { "data-testid": "no-pipelines" }, "No pipeline has run yet.")
      : h(
          "table",
          { className: "list", "data-testid": "pipeline-table" },
          h("thead", {}, h("tr", {}, ["Pipeline", "Runs", "Success rate", "Last run (status, start, duration)"].map((t) => h("th", { scope: "col" }, t)))),
          body,
        ),
    loadMore(first.pipelines.pageInfo, async (after) => {
      const next = await query<{ pipelines: Connection<PipelineCounted> }>(PIPELINES, { first: PAGE, after });
      addRows(next.pipelines);
      return next.pipelines.pageInfo;
    }),
  );
}

export async function pipelinePage(main: HTMLElement, route: Route): Promise<void> {
  const name = route.path[1];
  const [data, counts] = await Promise.all([
    query<{ pipeline: PipelineDetail | null }>(PIPELINE, { name, first: PAGE }),
    query<RunCounts>(PIPELINE_COUNTS, { name }),
  ]);
  const pipeline = data.pipeline;
  if (!pipeline) throw new QueryError(`No pipeline is named “${name}”.`, "NOT_FOUND");
  const rate = successRate(
    counts.completed.totalCount + counts.cached.totalCount,
    counts.failed.totalCount + counts.abandoned.totalCount,
  );
  const body = h("tbody", {});
  const addRows = (conn: Connection<PipelineRunRow>): void => {
    for (const { node } of conn.edges) {
      body.append(
        h(
          "tr",
          { "data-testid": "run-row", "data-status": node.status, "data-run": node.name },
          h("td", {}, h("a", { href: links.run(node.id), "data-testid": "run-link" }, node.name)),
          h("td", {}, statusBadge(node.status)),
          h("td", {}, formatDate(node.startedAt)),
          h("td", { className: "num", "data-testid": "run-duration" }, formatDuration(node.startedAt, node.endedAt, node.status)),
          h("td", { className: "error-cell" }, node.error ? node.error.split("\n")[0] : ""),
        ),
      );
    }
  };
  addRows(pipeline.runs);
  main.replaceChildren(
    h("p", { className: "crumbs" }, h("a", { href: links.pipelines() }, "Pipelines"), " / ", pipeline.name),
    h("h1", { "data-testid": "pipeline-name" }, pipeline.name),
    facts(
      [
        ["Runs", h("span", { "data-testid": "run-count" }, String(counts.all.totalCount), countsText(counts) ? ` (${countsText(counts)})` : "")],
        ["Success rate", h("span", { "data-testid": "success-rate" }, rate.text)],
        ["Last run", lastRunCell(pipeline.lastRun)],
        ["First seen", formatDate(pipeline.createdAt)],
      ],
      "pipeline-facts",
    ),
    section(
      "Runs, newest first",
      "pipeline-runs",
      h(
        "table",
        { className: "list", "data-testid": "run-results" },
        h("thead", {}, h("tr", {}, ["Run", "Status", "Started", "Duration", "Error"].map((t) => h("th", { scope: "col" }, t)))),
        body,
      ),
      loadMore(pipeline.runs.pageInfo, async (after) => {
        const next = await query<{ pipeline: PipelineDetail }>(PIPELINE, { name, first: PAGE, after });
        addRows(next.pipeline.runs);
        return next.pipeline.runs.pageInfo;
      }),
    ),
  );
}
