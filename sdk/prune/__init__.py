"""Deleting artifact versions and their data: plan, execute, sweep orphans."""
