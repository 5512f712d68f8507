"""One module per schema revision, oldest first; see docs/store.md before adding one."""
