"""The evaluation cycle: judge every goal, move its alerts through their lifecycle and queue
the notifications."""
