"""`tracker run` whose first batch of charts waits for the test, for the SIGTERM-during-render
test (run as a subprocess): the render worker writes `render-started` in DIR when it begins
its first batch, waits until `signalled` exists there, then has it drawn for real, so the
signal arrives while a render is in hand and the drawing runs while the daemon stops.
Usage: python -m tests.render_harness DIR
"""

from __future__ import annotations

import sys
import time
from pathlib import Path


def main(directory: Path) -> None:
    from tracker.cli.app import main as tracker
    from tracker.service import pages

    real = pages.draw_in_child

    def held(charts, **options):  # type: ignore[no-untyped-def]
        marker = directory / "render-started"
        if not marker.exists():
            marker.write_text(str(len(charts)))
            while not (directory / "signalled").exists():
                time.sleep(0.01)
        return real(charts, **options)

    pages.draw_in_child = held
    tracker(["run"])


if __name__ == "__main__":
    main(Path(sys.argv[1]))
