"""Source kinds. Each kind is one module registered in ``registry``; see ``docs/sources.md``."""
