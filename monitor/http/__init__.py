"""The one HTTP layer (see ``client.py``). Only this package touches the network."""

from monitor.http.client import Fetched, HttpClient

__all__ = ["Fetched", "HttpClient"]
