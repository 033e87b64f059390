"""Every GraphQL document the SDK sends, as named constants (validated against the schema by
a test)."""

from __future__ import annotations

VERSION_FIELDS = """
fragment VersionFields on ArtifactVersion {
  id name version isCustomVersion uri storePath dataType materializer contentHash sizeBytes
  metadata tags createdAt source artifactType dataDeletedAt producer { id }
  openlineage { namespace name producer }
  visualizations { type uri url }
}
"""

STEP_FIELDS = """
fragment StepFields on StepRun {
  id name status parameters cacheKey cacheReason codeHash error startedAt endedAt
  originalStepRun { id run { id name } }
  openlineage { producer namespace job eventCount lastEventType lastEventTime }
  inputs { name artifactVersion { ...VersionFields } }
  outputs { name artifactVersion { ...VersionFields } }
}
"""

RUN_FIELDS = """
fragment RunFields on PipelineRun {
  id name status startedAt endedAt error pipeline { name }
  openlineage { producer namespace job eventCount lastEventType lastEventTime }
  steps { ...StepFields }
}
"""

SERVER_INFO = """
query ServerInfo { serverInfo { version artifactStore database storeId } }
"""

START_PIPELINE_RUN = """
mutation StartPipelineRun($input: StartPipelineRunInput!) {
  startPipelineRun(input: $input) { id name }
}
"""

RECORD_HEARTBEAT = """
mutation RecordHeartbeat($runId: ID!) { recordHeartbeat(runId: $runId) { id status } }
"""

REAP_ABANDONED_RUNS = """
mutation ReapAbandonedRuns {
  reapAbandonedRuns { id name status startedAt endedAt error pipeline { name } }
}
"""


FINISH_STEP_RUN = (
    """
mutation FinishStepRun($input: FinishStepRunInput!) {
  finishStepRun(input: $input) {
    id status outputs { name artifactVersion { ...VersionFields } }
  }
}
"""
    + VERSION_FIELDS
)

CREATE_ARTIFACT_VERSION = (
    """
mutation CreateArtifactVersion(
  $input: ArtifactVersionInput!, $source: ArtifactSource!, $clientKey: String
) {
  createArtifactVersion(input: $input, source: $source, clientKey: $clientKey) {
    ...VersionFields
  }
}
"""
    + VERSION_FIELDS
)

GET_VERSION = (
    """
query GetVersion($id: ID, $name: String, $version: String) {
  artifactVersion(id: $id, name: $name, version: $version) { ...VersionFields }
}
"""
    + VERSION_FIELDS
)

# What `load_artifact` reads of a version (where the data is, how to read and check it), and
# no more: tags, visualizations, producer and OpenLineage cost a quarter of GET_VERSION's time.
LOAD_VERSION = """
query LoadVersion($id: ID, $name: String, $version: String) {
  artifactVersion(id: $id, name: $name, version: $version) {
    id name version isCustomVersion uri storePath dataType materializer contentHash sizeBytes
    metadata createdAt source artifactType dataDeletedAt
  }
}
"""

LIST_VERSIONS = (
    """
query ListVersions(
  $filter: ArtifactVersionFilter, $first: Int, $after: String, $orderBy: MetadataOrder
) {
  artifactVersions(filter: $filter, first: $first, after: $after, orderBy: $orderBy) {
    edges { node { ...VersionFields } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
    + VERSION_FIELDS
)

ARTIFACT_FIELDS = """
fragment ArtifactFields on Artifact { id name tags createdAt updatedAt versionCount }
"""

GET_ARTIFACT = (
    """
query GetArtifact($name: String!) {
  artifact(name: $name) {
    ...ArtifactFields
    latestVersion { ...VersionFields }
  }
}
"""
    + ARTIFACT_FIELDS
    + VERSION_FIELDS
)

LIST_ARTIFACTS = (
    """
query ListArtifacts($filter: ArtifactFilter, $first: Int, $after: String) {
  artifacts(filter: $filter, first: $first, after: $after) {
    edges { node { ...ArtifactFields } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
    + ARTIFACT_FIELDS
)

ARTIFACT_VERSIONS = (
    """
query ArtifactVersions($name: String!, $first: Int, $after: String) {
  artifact(name: $name) {
    versions(first: $first, after: $after) {
      edges { node { ...VersionFields } }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""
    + VERSION_FIELDS
)

LATEST_VERSION_NAMES = """
query LatestVersionNames($name: String!) {
  artifact(name: $name) { versions(first: 10, newestFirst: true) { edges { node { version } } } }
}
"""

GET_PIPELINE_RUN = (
    """
query GetPipelineRun($id: ID!) { pipelineRun(id: $id) { ...RunFields } }
"""
    + RUN_FIELDS
    + STEP_FIELDS
    + VERSION_FIELDS
)

GET_STEP_RUN = (
    """
query GetStepRun($id: ID!) { stepRun(id: $id) { ...StepFields } }
"""
    + STEP_FIELDS
    + VERSION_FIELDS
)

GET_PIPELINE = """
query GetPipeline($name: String!) { pipeline(name: $name) { id name createdAt lastRun { id } } }
"""

PIPELINE_RUNS = (
    """
query PipelineRuns(
  $filter: PipelineRunFilter, $first: Int, $after: String, $orderBy: MetadataOrder
) {
  pipelineRuns(filter: $filter, first: $first, after: $after, orderBy: $orderBy) {
    edges { node { ...RunFields } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
    + RUN_FIELDS
    + STEP_FIELDS
    + VERSION_FIELDS
)

LIST_PIPELINES = """
query ListPipelines($first: Int, $after: String) {
  pipelines(first: $first, after: $after) {
    edges { node { id name createdAt } }
    pageInfo { hasNextPage endCursor }
  }
}
"""

FINISH_PIPELINE_RUN = """
mutation FinishPipelineRun($input: FinishPipelineRunInput!) {
  finishPipelineRun(input: $input) { id name status startedAt endedAt error pipeline { name } }
}
"""

LINEAGE_FIELDS = """
fragment LineageFields on LineageGraph {
  nodes {
    __typename
    ... on ArtifactVersion { ...VersionFields aliases }
    ... on StepRun {
      id name status startedAt endedAt
      originalStepRun { id }
      run { id name pipeline { name } }
      openlineage { producer namespace job eventCount lastEventType lastEventTime }
    }
  }
  edges { source target kind name }
  truncated
  pageInfo { hasNextPage endCursor }
}
"""

LINEAGE = (
    """
query Lineage(
  $id: ID!, $direction: LineageDirection!, $depth: Int!, $first: Int, $after: String,
  $filter: LineageFilter, $asOf: DateTime
) {
  lineage(
    id: $id, direction: $direction, depth: $depth, first: $first, after: $after,
    filter: $filter, asOf: $asOf
  ) { ...LineageFields }
}
"""
    + LINEAGE_FIELDS
    + VERSION_FIELDS
)

LINEAGE_PATH = (
    """
query LineagePath($from: ID!, $to: ID!, $asOf: DateTime) {
  lineagePath(from: $from, to: $to, asOf: $asOf) { ...LineageFields }
}
"""
    + LINEAGE_FIELDS
    + VERSION_FIELDS
)

START_STEP_RUN = (
    """
mutation StartStepRun($input: StartStepRunInput!) {
  startStepRun(input: $input) {
    id status cacheReason
    originalStepRun { id run { name } }
    outputs { name artifactVersion { ...VersionFields } }
  }
}
"""
    + VERSION_FIELDS
)

GET_VERSION_BY_ALIAS = (
    """
query GetVersionByAlias($name: String!, $alias: String!) {
  artifactVersion(name: $name, alias: $alias) { ...VersionFields }
}
"""
    + VERSION_FIELDS
)

ALIAS_FIELDS = """
fragment AliasFields on ArtifactAlias { name protected updatedAt version { id version } }
"""

ARTIFACT_ALIASES = (
    """
query ArtifactAliases($name: String!) { artifact(name: $name) { aliases { ...AliasFields } } }
"""
    + ALIAS_FIELDS
)

SET_ARTIFACT_ALIAS = (
    """
mutation SetArtifactAlias(
  $name: String!, $alias: String!, $version: String, $protected: Boolean, $force: Boolean!,
  $expectedVersion: String
) {
  setArtifactAlias(
    name: $name, alias: $alias, version: $version, protected: $protected, force: $force,
    expectedVersion: $expectedVersion
  ) { ...AliasFields }
}
"""
    + ALIAS_FIELDS
)

REMOVE_ARTIFACT_ALIAS = """
mutation RemoveArtifactAlias(
  $name: String!, $alias: String!, $force: Boolean!, $expectedVersion: String
) {
  removeArtifactAlias(
    name: $name, alias: $alias, force: $force, expectedVersion: $expectedVersion
  ) { alias movedAt movedBy fromVersion { version } }
}
"""

ALIAS_HISTORY = """
query AliasHistory($name: String!, $alias: String) {
  artifact(name: $name) {
    aliasHistory(alias: $alias) {
      alias movedAt movedBy fromVersion { version } toVersion { version }
    }
  }
}
"""


ARTIFACT_SUMMARIES = """
query ArtifactSummaries($filter: ArtifactFilter, $first: Int, $after: String) {
  artifacts(filter: $filter, first: $first, after: $after) {
    edges {
      node {
        id name tags versionCount hasCustomName createdAt updatedAt
        latestVersion { id version createdAt }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""

TAGGED_ARTIFACT_SUMMARIES = """
query TaggedArtifactSummaries(
  $filter: ArtifactFilter, $first: Int, $after: String, $tag: String!
) {
  artifacts(filter: $filter, first: $first, after: $after) {
    edges {
      node {
        id name tags versionCount hasCustomName createdAt updatedAt
        latestVersion { id version createdAt }
        taggedVersionCount(tag: $tag)
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""

ARTIFACT_COUNT = """
query ArtifactCount($filter: ArtifactFilter) {
  artifacts(filter: $filter, first: 0) { totalCount }
}
"""


RUN_SUMMARIES = """
query RunSummaries(
  $filter: PipelineRunFilter, $first: Int, $after: String, $orderBy: MetadataOrder
) {
  pipelineRuns(filter: $filter, first: $first, after: $after, orderBy: $orderBy) {
    edges { node {
      id name status startedAt endedAt error pipeline { name }
      openlineage { producer namespace job eventCount lastEventType lastEventTime }
    } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


UPDATE_ARTIFACT = (
    """
mutation UpdateArtifact($name: String!, $addTags: [String!], $removeTags: [String!]) {
  updateArtifact(name: $name, addTags: $addTags, removeTags: $removeTags) {
    ...ArtifactFields
    latestVersion { ...VersionFields }
  }
}
"""
    + ARTIFACT_FIELDS
    + VERSION_FIELDS
)

UPDATE_ARTIFACT_VERSION = (
    """
mutation UpdateArtifactVersion(
  $id: ID, $name: String, $version: String, $addTags: [String!], $removeTags: [String!]
) {
  updateArtifactVersion(
    id: $id, name: $name, version: $version, addTags: $addTags, removeTags: $removeTags
  ) { ...VersionFields }
}
"""
    + VERSION_FIELDS
)

RUN_CANDIDATES = """
query RunCandidates($filter: PipelineRunFilter, $first: Int) {
  pipelineRuns(filter: $filter, first: $first) {
    totalCount
    edges { node { id name status startedAt pipeline { name } } }
  }
}
"""

RUN_ID = """
query RunId($id: ID!) { pipelineRun(id: $id) { id } }
"""


LIST_PIPELINES_BY_LAST_RUN = """
query PostExecutionPipelines($first: Int, $after: String) {
  pipelines(first: $first, after: $after) {
    edges { node { id name lastRun { id startedAt } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


PRUNE_FIELDS = "id name version uri source sizeBytes dataDeletedAt"

UNUSED_VERSIONS = f"""
query PruneCandidates($first: Int, $after: String) {{
  artifactVersions(filter: {{unused: true}}, first: $first, after: $after) {{
    edges {{ node {{ {PRUNE_FIELDS} }} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}
"""

VERSION_URIS = """
query PruneKnownUris($first: Int, $after: String) {
  artifactVersions(first: $first, after: $after) {
    edges { node { id name version uri dataDeletedAt } }
    pageInfo { hasNextPage endCursor }
  }
}
"""

BATCH_RESULT = """
  versions { id name version uri source }
  inUse
  missing
  removedArtifacts
"""

MARK_DATA_DELETED = f"""
mutation PruneMark($ids: [ID!]!) {{
  markArtifactVersionsDataDeleted(ids: $ids) {{ {BATCH_RESULT} }}
}}
"""

DELETE_VERSIONS = f"""
mutation PruneDelete($ids: [ID!]!) {{
  deleteArtifactVersions(ids: $ids) {{ {BATCH_RESULT} }}
}}
"""

DELETE_VERSION = """
mutation DeleteArtifactVersion($id: ID!) {
  deleteArtifactVersion(id: $id) {
    version { id name version uri source }
    artifactRemoved
  }
}
"""


COMPARE_VERSIONS = (
    """
query CompareArtifactVersions($a: ID!, $b: ID!) {
  compareArtifactVersions(a: $a, b: $b) {
    a { ...VersionFields }
    b { ...VersionFields }
    sameArtifact
    content { equal hashA hashB sizeBytesA sizeBytesB sizeBytesDelta }
    dataType { before after }
    materializer { before after }
    metadata { key change before after }
    dataFrame {
      rowsBefore rowsAfter rowDelta columnCountBefore columnCountAfter schemaEqual
      columnsAdded { name dtype }
      columnsRemoved { name dtype }
      dtypeChanges { name before after }
    }
    array {
      shapeBefore shapeAfter dtypeBefore dtypeAfter sizeBefore sizeAfter shapeChanged dtypeChanged
      statistics { name before after change }
    }
    producerA { ...ProducerFields }
    producerB { ...ProducerFields }
    lineage {
      sameProducer sameStep codeChanged unchangedInputs
      inputs { name change before { id name version } after { id name version } }
      parameters { key change before after }
    }
  }
}

fragment ProducerFields on StepRun { id name status run { id name } }
"""
    + VERSION_FIELDS
)

LIST_STEP_RUNS = (
    """
query ListStepRuns(
  $filter: StepRunFilter, $first: Int, $after: String, $orderBy: MetadataOrder
) {
  stepRuns(filter: $filter, first: $first, after: $after, orderBy: $orderBy) {
    edges { node { ...StepFields } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
    + STEP_FIELDS
    + VERSION_FIELDS
)

METADATA_ENTRY = "runMetadata { key value type loggedAt }"

LOG_METADATA = f"""
mutation LogMetadata($input: LogMetadataInput!) {{
  logMetadata(input: $input) {{ owner id {METADATA_ENTRY} }}
}}
"""

VERSION_RUN_METADATA = f"""
query VersionRunMetadata($id: ID!) {{ artifactVersion(id: $id) {{ {METADATA_ENTRY} }} }}
"""

STEP_RUN_METADATA = f"""
query StepRunMetadata($id: ID!) {{ stepRun(id: $id) {{ {METADATA_ENTRY} }} }}
"""

PIPELINE_RUN_METADATA = f"""
query PipelineRunMetadata($id: ID!) {{ pipelineRun(id: $id) {{ {METADATA_ENTRY} }} }}
"""
