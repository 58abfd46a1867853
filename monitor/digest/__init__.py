"""The weekly digest: select the week's items (pure), render them (Jinja2), write files."""
