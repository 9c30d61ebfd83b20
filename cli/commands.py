"""Imports every command module so that each registers itself on the app."""

from neurocompile.cli import (
    check_cmd,  # noqa: F401,E402
    compile_cmd,  # noqa: F401,E402
    demo_cmd,  # noqa: F401,E402
    emit_cmd,  # noqa: F401,E402
    inspect_cmd,  # noqa: F401,E402
    report_cmd,  # noqa: F401,E402
    run_cmd,  # noqa: F401,E402
    simulate_cmd,  # noqa: F401,E402
    sweep_cmd,  # noqa: F401,E402
    validate_cmd,  # noqa: F401,E402
)
