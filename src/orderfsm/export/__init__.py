"""Exports of a compiled machine for other runtimes: a versioned JSON document, XState v5."""
