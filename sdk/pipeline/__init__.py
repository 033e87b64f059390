"""Steps and pipelines: decorators, signatures, execution of one step, caching."""
