"""Chinese drafts of bulletin entries: the offline skeleton (``skeleton``, ``acts``, ``amounts``)
and the model-based writer that falls back to it (``llm``, ``zh``).

Importing the package loads only the skeleton's pure modules; the writer is imported from its
own modules.
"""

from __future__ import annotations

from monitor.drafting.acts import Act, act_of
from monitor.drafting.amounts import amounts_zh, to_chinese
from monitor.drafting.skeleton import ZhDraft, skeleton

__all__ = ["Act", "ZhDraft", "act_of", "amounts_zh", "skeleton", "to_chinese"]
