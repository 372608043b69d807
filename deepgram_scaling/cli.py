"""The ``deepgram-scaling`` command.

``check`` runs the scaling-correctness checks and imports nothing heavy; ``smoke`` sends
one request to a deployed endpoint (boto3, never the CDK); every other subcommand belongs
to the strategy simulator (``deepgram_scaling.simulator.cli``), loaded only when asked for.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "check":
        from .checks.cli import main as check_main

        return check_main(args[1:])
    if args and args[0] == "smoke":
        from .smoke import main as smoke_main

        return smoke_main(args[1:])
    if not args or args[0] in ("-h", "--help"):
        print("deepgram-scaling check TEMPLATE... [--format text|json|sarif]\n"
              "    scaling-correctness checks for any SageMaker template "
              "(deepgram-scaling check --help)\n"
              "deepgram-scaling smoke --endpoint NAME [--audio FILE] [--region R]\n"
              "    one request to a deployed endpoint: latency and the first words "
              "(deepgram-scaling smoke --help)\n")
    from .simulator.cli import main as simulator_main

    return simulator_main(args)


if __name__ == "__main__":
    sys.exit(main())
