"""`tracker run` whose first chart waits for the test, for the SIGTERM-during-render test
(run as a subprocess): the render worker writes `render-started` in DIR when it begins its
first chart, waits until `signalled` exists there, then draws that chart for real, so the
signal arrives while a render is in hand and matplotlib runs while the daemon stops.
Usage: python -m tests.render_harness DIR
"""

from __future__ import annotations

import sys
import time
from pathlib import Path


def main(directory: Path) -> None:
    from tracker.cli.app import main as tracker
    from tracker.views import charts

    real = charts.render_svg

    def held(data, *, salt, label):  # type: ignore[no-untyped-def]
        marker = directory / "render-started"
        if not marker.exists():
            marker.write_text(salt)
            while not (directory / "signalled").exists():
                time.sleep(0.01)
        return real(data, salt=salt, label=label)

    charts.render_svg = held
    tracker(["run"])


if __name__ == "__main__":
    main(Path(sys.argv[1]))
