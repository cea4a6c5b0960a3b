"""Bulk scoring of palette files, in parts: plan, read, parse, score (columns, part), assemble, job."""
