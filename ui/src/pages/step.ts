// A step run: status, parameters, cache origin, inputs and outputs, and its lineage.

import { QueryError, query } from "../api";
import { facts, formatDate, h, statusBadge } from "../dom";
import { lineageSection } from "../lineage";
import { STEP, type StepArtifact, type StepDetail } from "../queries";
import { links, type Route } from "../route";
import { formatDuration } from "../time";
import { openLineageMarker, openLineageRunSection } from "../openlineage";
import { valueAfter } from "../values";
import { section, valueTable } from "../widgets";

function artifactList(items: StepArtifact[], testid: string): HTMLElement {
  if (items.length === 0) return h("p", { className: "muted" }, "none");
  return h(
    "ul",
    { "data-testid": testid },
    items.map((item) =>
      h(
        "li",
        {},
        h("code", {}, item.name),
        ": ",
        h("a", { href: links.version(item.artifactVersion.id) }, `${item.artifactVersion.name}:${item.artifactVersion.version}`),
        valueAfter(item.artifactVersion),
      ),
    ),
  );
}

export async function stepPage(main: HTMLElement, route: Route): Promise<void> {
  const id = route.path[1];
  const data = await query<{ stepRun: StepDetail | null }>(STEP, { id });
  const step = data.stepRun;
  if (!step) throw new QueryError(`No step run has the id “${id}”.`, "NOT_FOUND");
  main.replaceChildren(
    h(
      "p",
      { className: "crumbs" },
      h("a", { href: links.runs() }, "Runs"),
      " / ",
      h("a", { href: links.run(step.run.id), "data-testid": "run-crumb" }, step.run.name),
      " / ",
      step.name,
    ),
    h("h1", { "data-testid": "step-title" }, step.name, " ", statusBadge(step.status, "step-status"), step.openlineage ? [" ", openLineageMarker(step.openlineage.producer)] : null),
    facts([
      ["Run", h("a", { href: links.run(step.run.id), "data-testid": "run-link" }, `${step.run.name} (${step.run.pipeline.name})`)],
      [
        "Cached from",
        step.originalStepRun
          ? h(
              "span",
              {},
              h("a", { href: links.step(step.originalStepRun.id), "data-testid": "original-step-link" }, "the step run"),
              " in ",
              h("a", { href: links.run(step.originalStepRun.run.id) }, step.originalStepRun.run.name),
            )
          : "",
      ],
      ["Cache", step.cacheReason ?? ""],
      ["Started", formatDate(step.startedAt)],
      ["Ended", formatDate(step.endedAt)],
      ["Duration", h("span", { "data-testid": "step-duration" }, formatDuration(step.startedAt, step.endedAt, step.status))],
      ["Error", step.error ? h("pre", { className: "error" }, step.error) : ""],
    ]),
    step.openlineage ? openLineageRunSection(step.openlineage) : "",
    section("Parameters", "step-parameters", valueTable(step.parameters, "parameters")),
    section("Inputs", "step-inputs", artifactList(step.inputs, "input-list")),
    section("Outputs", "step-outputs", artifactList(step.outputs, "output-list")),
    lineageSection(step.id, route, `Lineage of step ${step.name}`),
  );
}
