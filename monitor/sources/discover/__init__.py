"""From a page's URL to a checked source definition (``monitor sources add``).

- **Feeds**: the feeds a page names (``<link rel="alternate">``, read by trafilatura's feed
  finder), then the conventions of WordPress (``/feed/``, ``?feed=rss2``) and Drupal
  (``/rss.xml``, ``/node/feed``) and common paths (``/feed``, ``/rss``, ``/atom.xml`` ...);
  each is fetched and read with the ``rss`` kind, as a poll would.
- **Listings without a feed**: CSS selectors for the ``html`` kind, proposed from the blocks that
  repeat on the page and each hold a link and a date (``propose_selectors``).
- **The definition**: id, name, publisher (from the glossary when the host is known), kind,
  url; rendered as a YAML block and added to ``sources.yaml`` *as text* at the end of the
  ``sources:`` list, so that the file's comments and layout stay; the whole file is validated
  before it is written and after, and restored on error.

Pure except ``trial`` (fetches through the HttpClient it is given) and ``yamltext.append_to_file``.
"""

from monitor.sources.discover.feeds import (
    MAX_GUESSED,
    MAX_NAMED,
    Candidate,
    feed_candidates,
    looks_like_feed,
    looks_like_url,
)
from monitor.sources.discover.listing import propose_selectors
from monitor.sources.discover.naming import (
    choose_publisher,
    match_publisher,
    new_publisher_key,
    slug,
    source_id_for,
    unique_key,
)
from monitor.sources.discover.page import Page, read_page
from monitor.sources.discover.trial import (
    Discovery,
    Trial,
    best_trial,
    definition,
    discover,
    try_source,
)
from monitor.sources.discover.yamltext import (
    Addition,
    add_to_text,
    append_to_file,
    check_text,
    publisher_lines,
    source_block,
)

__all__ = [
    "MAX_GUESSED",
    "MAX_NAMED",
    "Addition",
    "Candidate",
    "Discovery",
    "Page",
    "Trial",
    "add_to_text",
    "append_to_file",
    "best_trial",
    "check_text",
    "choose_publisher",
    "definition",
    "discover",
    "feed_candidates",
    "looks_like_feed",
    "looks_like_url",
    "match_publisher",
    "new_publisher_key",
    "propose_selectors",
    "publisher_lines",
    "read_page",
    "slug",
    "source_block",
    "source_id_for",
    "try_source",
    "unique_key",
]
