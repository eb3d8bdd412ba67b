"""Trial runners for the study tests: no training, PER from the spec (E-RNN Observation 1: PER grows
with block size), and one that hangs in a chosen trial so a test can kill its process mid-trial."""

import fnmatch
import os
import time
from pathlib import Path


class FakeRunner:
    def __init__(self):
        self.calls = []

    def estimate(self, spec):
        k = spec.block_size or 1
        bits = {"float": 32, "16bit": 16, "12bit": 12}[spec.quant]
        return {"storage_bytes": spec.hidden * 100 * bits // (8 * k),
                "mults_per_frame": spec.hidden * 100 // k}

    def run(self, spec):
        self.calls.append(spec.trial_id)
        k = spec.block_size or 1
        per = 0.20 + 0.004 * (k - 1) - 0.0001 * spec.hidden + (0.001 if spec.quant == "12bit" else 0)
        per += 0.01 if spec.cell == "gru" else 0
        return {"trial": spec.trial_id, "spec": spec.as_dict(), "per": per, "params": 1, "pid": os.getpid(),
                **self.estimate(spec)}


class HangingRunner(FakeRunner):
    """Hangs in the first trial matching the pattern ``hang`` after writing its name to ``marker`` (the
    test then kills the process)."""

    def __init__(self, hang, marker):
        super().__init__()
        self.hang, self.marker = hang, Path(marker)

    def run(self, spec):
        if fnmatch.fnmatch(spec.trial_id, self.hang):
            self.marker.write_text(spec.trial_id)
            time.sleep(120)
        return super().run(spec)
