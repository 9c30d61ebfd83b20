"""Imports every command module so that each registers itself on the app."""
from neurocompile.cli import check_cmd  # noqa: F401,E402
from neurocompile.cli import simulate_cmd  # noqa: F401,E402
from neurocompile.cli import demo_cmd  # noqa: F401,E402
from neurocompile.cli import emit_cmd  # noqa: F401,E402
from neurocompile.cli import run_cmd  # noqa: F401,E402
from neurocompile.cli import report_cmd  # noqa: F401,E402
from neurocompile.cli import validate_cmd  # noqa: F401,E402
from neurocompile.cli import compile_cmd  # noqa: F401,E402
