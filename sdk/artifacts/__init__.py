"""Artifacts: save/load/register, the artifact store, verification, output configuration."""
