"""What the chat says while a generator's model loads before an answer: how long it has taken so far, and
how long it should take. The estimate is this machine's last load of that model when there is one (`ui.speeds`).
Otherwise, for a packaged model, it is the measured first use (docs/speed.md) of qwen-1.5b (joined, verified and
converted once: 2 min 34 s to the first answer on 2 cores), scaled by the model's size and this machine's
cores, and said to be an estimate. The chat cannot see the conversion's own steps (see docs/chat.md).
"""

from __future__ import annotations

import os

from ui.render import e
from ui.settings import model_name
from ui.speeds import seconds_text

MEASURED_MODEL = "qwen-1.5b"
MEASURED_FIRST_USE_SECONDS = 154.0  # docs/speed.md, "First use": the first answer after a fresh install
MEASURED_CORES = 2


def first_use_estimate(generator: str, cores: int | None = None) -> float | None:
    """Seconds a first use (conversion included) should take here, scaled from the measured one; None for a
    model of the reader's own, whose size says nothing."""
    from qa.weights import PACKAGED

    model = PACKAGED.get(model_name(generator))
    if model is None or MEASURED_MODEL not in PACKAGED:
        return None
    cores = max(1, cores or os.cpu_count() or 1)
    return MEASURED_FIRST_USE_SECONDS * model.size / PACKAGED[MEASURED_MODEL].size * MEASURED_CORES / cores


def render_loading(generator: str, elapsed: float, last_load: float | None, cores: int | None = None) -> str:
    """The answer bubble while the model loads: elapsed time, the estimate, and a bar when there is one."""
    name = model_name(generator)
    if last_load is not None:
        estimate: float | None = last_load
        expect = f"It took {seconds_text(last_load)} last time on this machine."
    else:
        estimate = first_use_estimate(generator, cores)
        expect = ("If this is its first use on this machine, it is converted once first"
                  + (f", which should take about {seconds_text(estimate)} here (an estimate from the size of the "
                     "model and the cores of this machine)" if estimate else "")
                  + "; later it loads in seconds.")
    bar = ""
    if estimate:
        done = min(elapsed / estimate, 0.99)
        bar = f'<progress class="cq-progress" max="100" value="{done * 100:.0f}"></progress>'
        if elapsed > estimate:
            expect += " It is taking longer than that."
    return (f'<div class="cq-answer cq-streaming cq-loading">Loading the model {e(name)}: '
            f'{e(seconds_text(elapsed))} so far. {e(expect)}{bar}</div>')
