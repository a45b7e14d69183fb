"""The integration tests' helpers (tests/integration/conftest.py), loaded under another
module name: both directories have a conftest, so a plain import would find this one's."""
import importlib.util
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_spec = importlib.util.spec_from_file_location(
    "lec_integration_conftest", os.path.join(ROOT, "tests", "integration", "conftest.py"))
it = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(it)

wait_for, free_port, port_open = it.wait_for, it.free_port, it.port_open
processes_mentioning, LOCUSTFILE = it.processes_mentioning, it.LOCUSTFILE
log_lines = it.log_lines
