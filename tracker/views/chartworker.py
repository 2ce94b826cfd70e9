"""Charts drawn in a child process: `python -m tracker.views.chartworker` reads a pickled list
of tracker.views.report.Chart on stdin and writes the pickled list of their SVG texts on stdout.

Why a process: matplotlib (with numpy and its fonts) adds some 45 MB to whatever process
imports it, for good; a daemon that draws a few charts an hour would carry that at idle. In
a child it is gone when the child exits, and a signal to the daemon never finds a thread of
its own inside matplotlib's C++.
"""

from __future__ import annotations

import pickle
import sys


def main() -> None:
    from tracker.views import report  # heavy, on demand

    charts = pickle.load(sys.stdin.buffer)
    pickle.dump([report.draw(chart) for chart in charts], sys.stdout.buffer)


if __name__ == "__main__":
    main()
