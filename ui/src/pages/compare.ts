// Two versions side by side, as `compareArtifactVersions(a, b)` answers (what
// `lineageql artifacts diff A B` prints): content, type, metadata, DataFrame schema and rows,
// array shape, dtype and summary statistics, and the inputs and parameters of the step runs
// that produced them.
// `#/compare?a=REF&b=REF`, each an id, `name:version`, `name@alias` or `name`.

import { QueryError, query } from "../api";
import { facts, formatBytes, h } from "../dom";
import { COMPARE, type Comparison, type KeyChange, type VersionRef } from "../queries";
import { resolveRef } from "../refs";
import { links, type Route } from "../route";
import { section, stepLink } from "../widgets";

function ref(v: VersionRef | null, testid?: string): HTMLElement | string {
  return v ? h("a", { href: links.version(v.id), "data-testid": testid }, `${v.name}:${v.version}`) : "—";
}

function json(value: unknown): string {
  return value === null || value === undefined ? "—" : typeof value === "string" ? value : JSON.stringify(value);
}

function table(testid: string, head: string[], rows: (Node | string)[][], empty: string): HTMLElement {
  if (rows.length === 0) return h("p", { className: "muted", "data-testid": testid, "data-rows": 0 }, empty);
  return h(
    "table",
    { className: "list diff", "data-testid": testid, "data-rows": rows.length },
    h("thead", {}, h("tr", {}, head.map((t) => h("th", { scope: "col" }, t)))),
    h(
      "tbody",
      {},
      rows.map((cells) => h("tr", { "data-testid": `${testid}-row`, "data-key": typeof cells[0] === "string" ? cells[0] : null }, cells.map((c) => h("td", {}, c)))),
    ),
  );
}

function change(kind: string): HTMLElement {
  return h("span", { className: `change change-${kind.toLowerCase()}` }, kind.toLowerCase());
}

function keyChanges(testid: string, changes: KeyChange[], empty: string): HTMLElement {
  return table(
    testid,
    ["Key", "Change", "In a", "In b"],
    changes.map((c) => [c.key, change(c.change), json(c.before), json(c.after)]),
    empty,
  );
}

function beforeAfter(label: string, before: string, after: string): [string, HTMLElement] {
  const same = before === after;
  return [label, h("span", { className: same ? "" : "changed" }, before, same ? "" : ` → ${after}`)];
}

function numeric(value: number | string | null): string {
  return value === null ? "—" : String(value);
}

/** A summary statistic with six significant digits (signed for a change), as the CLI shows it. */
function statistic(value: number | null, sign = false): string {
  if (value === null) return "—";
  const text = Number(value.toPrecision(6)).toString();
  return sign && value > 0 ? `+${text}` : text;
}

function signed(value: number | string | null): string {
  if (value === null) return "—";
  const n = Number(value);
  return n > 0 ? `+${value}` : String(value);
}

export async function comparePage(main: HTMLElement, route: Route): Promise<void> {
  const refA = route.params.get("a") ?? "";
  const refB = route.params.get("b") ?? "";
  if (!refA || !refB) throw new QueryError("Name two versions to compare: #/compare?a=NAME:1&b=NAME:2.", "BAD_USER_INPUT");
  const [a, b] = await Promise.all([resolveRef(refA), resolveRef(refB)]);
  const data = await query<{ compareArtifactVersions: Comparison }>(COMPARE, { a: a.id, b: b.id });
  const d = data.compareArtifactVersions;
  const label = (v: Comparison["a"]): string => `${v.name}:${v.version}${v.aliases.length ? ` (@${v.aliases.join(", @")})` : ""}`;
  const equal = d.content.equal;
  const parts: HTMLElement[] = [
    h(
      "p",
      { className: "crumbs" },
      h("a", { href: links.search() }, "Artifacts"),
      " / ",
      d.sameArtifact ? h("a", { href: links.artifact(d.a.name) }, d.a.name) : "compare",
      " / compare",
    ),
    h("h1", { "data-testid": "compare-title" }, `${d.a.name}:${d.a.version} → ${d.b.name}:${d.b.version}`),
    facts(
      [
        ["a", h("span", {}, ref(d.a, "compare-a"), " ", label(d.a).slice(`${d.a.name}:${d.a.version}`.length))],
        ["b", h("span", {}, ref(d.b, "compare-b"), " ", label(d.b).slice(`${d.b.name}:${d.b.version}`.length))],
        [
          "Content",
          h(
            "strong",
            { "data-testid": "compare-content", "data-equal": equal === null ? "unknown" : String(equal), className: equal ? "same" : "changed" },
            equal === null ? "unknown (no content hash recorded)" : equal ? "equal" : "different",
          ),
        ],
        ["Content hash", h("code", {}, `${d.content.hashA ?? "—"} → ${d.content.hashB ?? "—"}`)],
        [
          "Size",
          `${formatBytes(d.content.sizeBytesA) || "—"} → ${formatBytes(d.content.sizeBytesB) || "—"}` +
            (d.content.sizeBytesDelta !== null ? ` (${signed(d.content.sizeBytesDelta)} B)` : ""),
        ],
        d.dataType ? beforeAfter("Type", d.dataType.before, d.dataType.after) : ["Type", `${d.a.dataType} (same)`],
        d.materializer ? beforeAfter("Materializer", d.materializer.before, d.materializer.after) : ["Materializer", ""],
      ],
      "compare-facts",
    ),
    section("Metadata", "compare-metadata-section", keyChanges("compare-metadata", d.metadata, "The same metadata.")),
  ];
  if (d.dataFrame) {
    const f = d.dataFrame;
    parts.push(
      section(
        "DataFrame",
        "compare-dataframe",
        facts([
          ["Rows", h("span", { "data-testid": "compare-rows" }, `${numeric(f.rowsBefore)} → ${numeric(f.rowsAfter)} (${signed(f.rowDelta)})`)],
          ["Columns", `${f.columnCountBefore} → ${f.columnCountAfter}`],
          ["Schema", h("span", { "data-testid": "compare-schema", "data-equal": String(f.schemaEqual) }, f.schemaEqual ? "the same columns and dtypes" : "changed")],
        ]),
        table(
          "compare-columns",
          ["Column", "Change", "dtype in a", "dtype in b"],
          [
            ...f.columnsAdded.map((c) => [c.name, change("ADDED"), "—", c.dtype]),
            ...f.columnsRemoved.map((c) => [c.name, change("REMOVED"), c.dtype, "—"]),
            ...f.dtypeChanges.map((c) => [c.name, change("CHANGED"), c.before, c.after]),
          ],
          "No column added, removed or retyped.",
        ),
      ),
    );
  }
  if (d.array) {
    const arr = d.array;
    const shape = (s: (number | string | null)[] | null): string => (s ? `(${s.join(", ")})` : "—");
    parts.push(
      section(
        "Array",
        "compare-array",
        table(
          "compare-array-table",
          ["", "a", "b", ""],
          [
            ["shape", shape(arr.shapeBefore), shape(arr.shapeAfter), arr.shapeChanged ? change("CHANGED") : "same"],
            ["dtype", arr.dtypeBefore ?? "—", arr.dtypeAfter ?? "—", arr.dtypeChanged ? change("CHANGED") : "same"],
            ["elements", numeric(arr.sizeBefore), numeric(arr.sizeAfter), arr.sizeBefore === arr.sizeAfter ? "same" : change("CHANGED")],
            ...arr.statistics.map((s): [string, string, string, string] => [
              s.name,
              statistic(s.before),
              statistic(s.after),
              s.change === null ? "—" : s.change === 0 ? "same" : statistic(s.change, true),
            ]),
          ],
          "",
        ),
      ),
    );
  }
  const l = d.lineage;
  parts.push(
    section(
      "Lineage",
      "compare-lineage",
      facts([
        ["Produced a", d.producerA ? stepLink(d.producerA) : h("span", { className: "muted" }, "no step (saved or registered)")],
        ["Produced b", d.producerB ? stepLink(d.producerB) : h("span", { className: "muted" }, "no step (saved or registered)")],
        [
          "Producers",
          h(
            "span",
            { "data-testid": "compare-producers" },
            !d.producerA && !d.producerB
              ? "neither was made by a step (saved or registered)"
              : !d.producerA || !d.producerB
                ? `only ${d.producerA ? "a" : "b"} was made by a step`
                : l.sameProducer
                  ? "the same step run"
                  : l.sameStep
                    ? "two runs of the same step"
                    : "different steps",
            l.codeChanged === null ? "" : l.codeChanged ? "; its code changed" : "; the same code",
          ),
        ],
        ["Inputs unchanged", l.unchangedInputs.join(", ")],
      ]),
      h("h3", {}, "Inputs that differ"),
      table(
        "compare-inputs",
        ["Input", "Change", "a's producer read", "b's producer read"],
        l.inputs.map((i) => [i.name, change(i.change), ref(i.before), ref(i.after)]),
        "No input differs.",
      ),
      h("h3", {}, "Parameters that differ"),
      keyChanges("compare-parameters", l.parameters, "No parameter differs."),
    ),
  );
  main.replaceChildren(...parts);
}
