"""The soak's random seed: from ONETRIP_FUZZ_SEED to replay a failure, else fresh per run."""

from __future__ import annotations

import os
import random

SEED = int(os.environ.get("ONETRIP_FUZZ_SEED") or random.randrange(2**32))
