"""REST endpoints and the events WebSocket under ``{base_url}/carbon/``; every verb requires Jupyter's authentication.

One module per resource; ``base`` holds what they share (strict JSON out, JSON errors, checked input).
"""

from __future__ import annotations

from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.utils import url_path_join
from tornado.web import Application

from .base import NotFoundHandler
from .events import EventHub, EventsHandler
from .exchange import ExportHandler, ImportHandler
from .intensity import IntensityHandler
from .ledger import (
    AnnotateHandler,
    CompareHandler,
    DeleteHandler,
    EmptyTrashHandler,
    ExperimentsHandler,
    GroupsHandler,
    RenameExperimentHandler,
    RestoreHandler,
    RunHandler,
    RunsHandler,
)
from .meters import PowerHandler, PowerSeriesHandler, StatusHandler
from .predict import (
    AccuracyHandler,
    CalibrationHandler,
    EstimateHandler,
    GpusHandler,
    KnownCodesHandler,
    PredictHandler,
)
from .runs import ExecutionsHandler, TotalsHandler
from .zones import CloudRegionsHandler, ZonesHandler

NAMESPACE = "carbon"

# (path below {base_url}/carbon/, handler); every handler here requires authentication.
ROUTES: list[tuple[str, type[JupyterHandler]]] = [
    ("status", StatusHandler),
    ("power", PowerHandler),
    ("power/series", PowerSeriesHandler),
    ("runs", RunsHandler),
    ("runs/annotate", AnnotateHandler),
    ("runs/delete", DeleteHandler),
    ("runs/restore", RestoreHandler),
    ("runs/compare", CompareHandler),
    ("runs/groups", GroupsHandler),
    ("runs/export", ExportHandler),
    ("runs/import", ImportHandler),
    ("trash/empty", EmptyTrashHandler),
    ("experiments", ExperimentsHandler),
    ("experiments/rename", RenameExperimentHandler),
    # After every runs/<name> route: any other segment is a run id (a malformed one gets a JSON 404).
    (r"runs/([^/]+)", RunHandler),
    ("executions", ExecutionsHandler),
    ("totals", TotalsHandler),
    ("intensity", IntensityHandler),
    ("intensity/zones", ZonesHandler),
    ("intensity/cloud-regions", CloudRegionsHandler),
    ("events", EventsHandler),
    ("predict", PredictHandler),
    ("predict/calibration", CalibrationHandler),
    ("predict/known", KnownCodesHandler),
    ("predict/accuracy", AccuracyHandler),
    ("estimate", EstimateHandler),
    ("estimate/gpus", GpusHandler),
]
# Tried after ROUTES: any other path below carbon/ gets a JSON 404.
FALLBACK_ROUTE = ("(?:/.*)?", NotFoundHandler)

__all__ = ["NAMESPACE", "ROUTES", "EventHub", "setup_handlers"]


def setup_handlers(web_app: Application) -> None:
    base_url = web_app.settings["base_url"]
    prefix = url_path_join(base_url, NAMESPACE)
    rules = [(url_path_join(prefix, path), handler) for path, handler in ROUTES]
    rules.append((prefix + FALLBACK_ROUTE[0], FALLBACK_ROUTE[1]))
    web_app.add_handlers(".*$", rules)
