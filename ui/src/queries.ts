// GraphQL documents the explorer sends, kept as constants (one place to read what it asks for).

import { VALUE_FIELDS, type ValueSource } from "./values";

export interface PageInfo {
  hasNextPage: boolean;
  endCursor: string | null;
}
export interface Connection<T> {
  totalCount: number;
  pageInfo: PageInfo;
  edges: { node: T }[];
}
export interface RunRef {
  id: string;
  name: string;
  pipeline: { name: string };
}
export interface VersionRef {
  id: string;
  name: string;
  version: string;
}
export interface StepRef {
  id: string;
  name: string;
  status: string;
  run: RunRef;
}

export const ARTIFACTS = `
query Artifacts($filter: ArtifactFilter, $first: Int, $after: String) {
  artifacts(filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id name tags hasCustomName versionCount latestVersion { id version createdAt ${VALUE_FIELDS} } } }
  }
}`;
// How many artifacts the default filter (custom names only) leaves out.
export const DEFAULT_NAMED_COUNT = `
query DefaultNamed($filter: ArtifactFilter) {
  artifacts(filter: $filter, first: 0) { totalCount }
}`;
export interface ArtifactSummary {
  id: string;
  name: string;
  tags: string[];
  hasCustomName: boolean;
  versionCount: number;
  latestVersion: ({ id: string; version: string; createdAt: string } & ValueSource) | null;
}

export const RUNS = `
query Runs($first: Int, $after: String, $filter: PipelineRunFilter) {
  pipelineRuns(first: $first, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id name status startedAt endedAt pipeline { name } } }
  }
}`;
export interface RunSummary {
  id: string;
  name: string;
  status: string;
  startedAt: string;
  endedAt: string | null;
  pipeline: { name: string };
}

const VERSION_ROW = `id version isCustomVersion source sizeBytes tags aliases createdAt ${VALUE_FIELDS}`;
// The run that produced a version (through its producing step run; null when saved).
const VERSION_RUN = `producer { id name run { id name status } }`;

export const ARTIFACT = `
query Artifact($name: String!, $first: Int, $after: String) {
  artifact(name: $name) {
    id name tags createdAt updatedAt versionCount
    aliases { name protected version { id version } }
    latestVersion { id version metadata }
    versions(first: $first, after: $after, newestFirst: true) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { node { ${VERSION_ROW} ${VERSION_RUN} } }
    }
  }
}`;
export interface VersionRow extends ValueSource {
  id: string;
  version: string;
  isCustomVersion: boolean;
  source: string;
  sizeBytes: number | string | null;
  tags: string[];
  aliases: string[];
  createdAt: string;
}
export interface ArtifactVersionRow extends VersionRow {
  producer: { id: string; name: string; run: { id: string; name: string; status: string } } | null;
}
export interface ArtifactDetail {
  id: string;
  name: string;
  tags: string[];
  createdAt: string;
  updatedAt: string;
  versionCount: number;
  aliases: { name: string; protected: boolean; version: { id: string; version: string } }[];
  latestVersion: { id: string; version: string; metadata: unknown } | null;
  versions: Connection<ArtifactVersionRow>;
}

const STEP_REF = `id name status run { id name pipeline { name } }`;

// Where a run, step run or version came from when another tool sent it as OpenLineage events.
const OPENLINEAGE_RUN = `producer namespace job eventCount lastEventType lastEventTime facets jobFacets`;
export interface OpenLineageRun {
  producer: string;
  namespace: string;
  job: string;
  eventCount: number;
  lastEventType: string;
  lastEventTime: string;
  facets: unknown;
  jobFacets: unknown;
}

export const VERSION = `
query Version($id: ID, $name: String, $version: String) {
  artifactVersion(id: $id, name: $name, version: $version) {
    id name version isCustomVersion uri dataType materializer contentHash sizeBytes metadata
    tags aliases createdAt source visualizations { type url }
    openlineage { namespace name producer facets }
    producer { ${STEP_REF} }
    consumers { ${STEP_REF} }
  }
}`;
export interface VersionDetail {
  id: string;
  name: string;
  version: string;
  isCustomVersion: boolean;
  uri: string;
  dataType: string;
  materializer: string;
  contentHash: string | null;
  sizeBytes: number | string | null;
  metadata: unknown;
  tags: string[];
  createdAt: string;
  source: string;
  producer: StepRef | null;
  consumers: StepRef[];
  visualizations?: { type: string; url: string }[];
  aliases: string[];
  openlineage: { namespace: string; name: string; producer: string; facets: unknown } | null;
}

// Asked separately, so that the rest of the page works against a server without this field.
export const VISUALIZATIONS = `
query Visualizations($id: ID!) {
  artifactVersion(id: $id) { id visualizations { type uri url } }
}`;
export interface Visualization {
  type: string;
  uri: string;
  url: string;
}

export const LINEAGE = `
query Lineage($id: ID!, $direction: LineageDirection!, $depth: Int!, $first: Int, $after: String) {
  lineage(id: $id, direction: $direction, depth: $depth, first: $first, after: $after) {
    truncated
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes {
      __typename
      ... on ArtifactVersion { id name version source aliases openlineage { producer } }
      ... on StepRun { id name status originalStepRun { id } run { id name pipeline { name } } openlineage { producer } }
    }
    edges { source target kind name }
  }
}`;
export type LineageNode =
  | {
      __typename: "ArtifactVersion";
      id: string;
      name: string;
      version: string;
      source: string;
      aliases?: string[];
      openlineage?: { producer: string } | null;
    }
  | {
      __typename: "StepRun";
      id: string;
      name: string;
      status: string;
      originalStepRun: { id: string } | null;
      run: RunRef;
      openlineage?: { producer: string } | null;
    };
export interface LineageEdge {
  source: string;
  target: string;
  kind: "PRODUCED" | "CONSUMED";
  name: string;
}
export interface LineagePage {
  truncated: boolean;
  totalCount: number;
  pageInfo: PageInfo;
  nodes: LineageNode[];
  edges: LineageEdge[];
}

const STEP_ARTIFACTS = `
  inputs { name artifactVersion { id name version ${VALUE_FIELDS} } }
  outputs { name artifactVersion { id name version ${VALUE_FIELDS} } }`;

export const RUN = `
query Run($id: ID!) {
  pipelineRun(id: $id) {
    id name status startedAt endedAt error pipeline { name }
    openlineage { ${OPENLINEAGE_RUN} }
    steps {
      id name status startedAt endedAt error cacheReason
      openlineage { producer }
      originalStepRun { id run { id name } }
      ${STEP_ARTIFACTS}
    }
  }
}`;
export interface StepArtifact {
  name: string;
  artifactVersion: VersionRef & ValueSource;
}
export interface RunStep {
  id: string;
  name: string;
  status: string;
  startedAt: string;
  endedAt: string | null;
  error: string | null;
  cacheReason: string | null;
  originalStepRun: { id: string; run: { id: string; name: string } } | null;
  inputs: StepArtifact[];
  outputs: StepArtifact[];
  openlineage?: { producer: string } | null;
}
export interface RunDetail {
  id: string;
  name: string;
  status: string;
  startedAt: string;
  endedAt: string | null;
  error: string | null;
  pipeline: { name: string };
  steps: RunStep[];
  openlineage: OpenLineageRun | null;
}

export const STEP = `
query Step($id: ID!) {
  stepRun(id: $id) {
    id name status startedAt endedAt error cacheReason cacheKey parameters
    openlineage { ${OPENLINEAGE_RUN} }
    run { id name pipeline { name } }
    originalStepRun { id run { id name } }
    ${STEP_ARTIFACTS}
  }
}`;
export interface StepDetail extends Omit<RunStep, "openlineage"> {
  openlineage: OpenLineageRun | null;
  cacheKey: string | null;
  parameters: unknown;
  run: RunRef;
}

export const TAGGED_VERSIONS = `
query TaggedVersions($tag: String!, $first: Int, $after: String) {
  artifactVersions(filter: { tag: $tag }, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { name ${VERSION_ROW} } }
  }
}`;
export interface TaggedVersion extends VersionRow {
  name: string;
}

// The graph's side panel: a clicked node's neighbours and facts.
export const NODE_DETAILS_VERSION = `
query NodeVersion($id: ID!) {
  artifactVersion(id: $id) {
    id dataType createdAt tags
    producer { ${STEP_REF} }
    consumers { ${STEP_REF} }
  }
}`;
export const NODE_DETAILS_STEP = `
query NodeStep($id: ID!) {
  stepRun(id: $id) {
    id status startedAt endedAt
    run { id name pipeline { name } }
    ${STEP_ARTIFACTS}
  }
}`;

export const PIPELINES = `
query Pipelines($first: Int, $after: String) {
  pipelines(first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id name createdAt runCount successCount failureCount lastRun { id name status startedAt endedAt } } }
  }
}`;
export interface LastRun {
  id: string;
  name: string;
  status: string;
  startedAt: string;
  endedAt: string | null;
}
export interface PipelineSummary {
  id: string;
  name: string;
  createdAt: string;
  lastRun: LastRun | null;
}
export interface PipelineCounted extends PipelineSummary {
  runCount: number;
  successCount: number;
  failureCount: number;
}

// A pipeline's run counts by status (the connection's totalCount, nothing else fetched).
export const PIPELINE_COUNTS = `
query PipelineCounts($name: String!) {
  all: pipelineRuns(filter: { pipelineName: $name }, first: 0) { totalCount }
  completed: pipelineRuns(filter: { pipelineName: $name, status: COMPLETED }, first: 0) { totalCount }
  cached: pipelineRuns(filter: { pipelineName: $name, status: CACHED }, first: 0) { totalCount }
  failed: pipelineRuns(filter: { pipelineName: $name, status: FAILED }, first: 0) { totalCount }
  abandoned: pipelineRuns(filter: { pipelineName: $name, status: ABANDONED }, first: 0) { totalCount }
  running: pipelineRuns(filter: { pipelineName: $name, status: RUNNING }, first: 0) { totalCount }
}`;
export type RunCounts = Record<"all" | "completed" | "cached" | "failed" | "abandoned" | "running", { totalCount: number }>;

export const PIPELINE = `
query Pipeline($name: String!, $first: Int, $after: String) {
  pipeline(name: $name) {
    id name createdAt
    lastRun { id name status startedAt endedAt }
    runs(first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { node { id name status startedAt endedAt error } }
    }
  }
}`;
export interface PipelineRunRow extends LastRun {
  error: string | null;
}
export interface PipelineDetail extends PipelineSummary {
  runs: Connection<PipelineRunRow>;
}

// Whether versions at the depth limit have neighbours the graph left out: one field per
// version, `count` of them (kept under the server's alias limit by the caller).
export function neighboursQuery(count: number): string {
  const indexes = [...Array(count).keys()];
  const variables = indexes.map((i) => `$i${i}: ID!`).join(", ");
  const fields = indexes.map((i) => `  n${i}: artifactVersion(id: $i${i}) { id producer { id } consumers { id } }`);
  return `query Neighbours(${variables}) {\n${fields.join("\n")}\n}`;
}
export interface Neighbours {
  id: string;
  producer: { id: string } | null;
  consumers: { id: string }[];
}

// A version named as people name it: `name@alias`, `name:version` or `name` (its latest).
export const VERSION_REF = `
query VersionRef($name: String!, $version: String, $alias: String) {
  artifactVersion(name: $name, version: $version, alias: $alias) { id name version }
}`;

const COMPARED_VERSION = `id name version aliases dataType`;
export const COMPARE = `
query Compare($a: ID!, $b: ID!) {
  compareArtifactVersions(a: $a, b: $b) {
    a { ${COMPARED_VERSION} }
    b { ${COMPARED_VERSION} }
    sameArtifact
    content { equal hashA hashB sizeBytesA sizeBytesB sizeBytesDelta }
    dataType { before after }
    materializer { before after }
    metadata { key change before after }
    dataFrame {
      rowsBefore rowsAfter rowDelta columnCountBefore columnCountAfter schemaEqual
      columnsAdded { name dtype } columnsRemoved { name dtype } dtypeChanges { name before after }
    }
    array {
      shapeBefore shapeAfter dtypeBefore dtypeAfter sizeBefore sizeAfter shapeChanged dtypeChanged
      statistics { name before after change }
    }
    lineage {
      sameProducer sameStep codeChanged unchangedInputs
      inputs { name change before { id name version } after { id name version } }
      parameters { key change before after }
    }
    producerA { ${STEP_REF} }
    producerB { ${STEP_REF} }
  }
}`;
export interface KeyChange {
  key: string;
  change: "ADDED" | "REMOVED" | "CHANGED";
  before: unknown;
  after: unknown;
}
type Big = number | string | null;
export interface Comparison {
  a: VersionRef & { aliases: string[]; dataType: string };
  b: VersionRef & { aliases: string[]; dataType: string };
  sameArtifact: boolean;
  content: { equal: boolean | null; hashA: string | null; hashB: string | null; sizeBytesA: Big; sizeBytesB: Big; sizeBytesDelta: Big };
  dataType: { before: string; after: string } | null;
  materializer: { before: string; after: string } | null;
  metadata: KeyChange[];
  dataFrame: {
    rowsBefore: Big;
    rowsAfter: Big;
    rowDelta: Big;
    columnCountBefore: number;
    columnCountAfter: number;
    schemaEqual: boolean;
    columnsAdded: { name: string; dtype: string }[];
    columnsRemoved: { name: string; dtype: string }[];
    dtypeChanges: { name: string; before: string; after: string }[];
  } | null;
  array: {
    shapeBefore: Big[] | null;
    shapeAfter: Big[] | null;
    dtypeBefore: string | null;
    dtypeAfter: string | null;
    sizeBefore: Big;
    sizeAfter: Big;
    shapeChanged: boolean;
    dtypeChanged: boolean;
    statistics: { name: string; before: number | null; after: number | null; change: number | null }[];
  } | null;
  lineage: {
    sameProducer: boolean;
    sameStep: boolean;
    codeChanged: boolean | null;
    unchangedInputs: string[];
    inputs: { name: string; change: string; before: VersionRef | null; after: VersionRef | null }[];
    parameters: KeyChange[];
  };
  producerA: StepRef | null;
  producerB: StepRef | null;
}
