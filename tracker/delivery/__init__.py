"""Delivering notifications: payload formats, signing channels, the pipeline and the pass.

`deliver_pass(runtime, now=..., client=...)` delivers what is due; `PassResult` counts, per
receiver, what was sent, failed (to be retried), dead, muted and superseded.
"""

from tracker.delivery.worker import PassResult, ReceiverCounts, deliver_pass

__all__ = ["PassResult", "ReceiverCounts", "deliver_pass"]
