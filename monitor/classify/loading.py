"""The classifier a process runs: the rules of the configuration and the model to use. Light
to import (no database, no HTTP), so ``monitor classify`` starts fast."""

from __future__ import annotations

from pathlib import Path

from monitor.classify import Classifier
from monitor.classify.model import Model, find_model
from monitor.config import Config
from monitor.errors import ConfigError, Problem


def make_classifier(config: Config, data_dir: Path) -> Classifier:
    """Rules, plus the retrained model in ``data_dir`` or else the shipped one."""
    path = find_model(data_dir) if config.classifier.model else None
    if path is None:
        return Classifier(config)
    try:
        return Classifier(config, Model.load(path))
    except (OSError, ValueError, KeyError) as e:
        raise ConfigError([Problem(str(path), None, "", f"cannot load the model: {e}")]) from e
