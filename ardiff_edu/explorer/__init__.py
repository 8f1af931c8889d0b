"""Interactive widgets for the notebooks, each built in three layers so that plain pytest can test it:

1. a model (the control values as a frozen dataclass, and what they compute);
2. pure renderers (model in, PNG bytes or HTML text out; no widgets, no display);
3. a thin ``ipywidgets`` shell whose ``observe`` callbacks write the renderers' output into ``widgets.Image.value`` /
   ``widgets.HTML.value`` (never into an ``Output`` context, which only captures inside a kernel), so that setting
   ``widget.controls["s"].value = 3`` in a test redraws synchronously.

* :class:`TimestepExplorer` (:mod:`.timesteps`, notebook 03): any staircase of :mod:`ardiff_edu.ad` and
  :mod:`ardiff_edu.staircases`, its NFE, and a demo clip at the noise levels of one iteration;
* :class:`LiveSampler` (:mod:`.live`, notebook 08): the shipped model sampling on the AD staircase, every frame's
  state and its predicted clean frame at any iteration.
"""

from ardiff_edu.explorer.live import (LiveState, SamplerTrace, LiveSampler, render_live_frames_png, run_live_sampler,
                                      display_x0)
from ardiff_edu.explorer.timesteps import (KNOBS, ExplorerState, TimestepExplorer, build_schedule, render_frames_png,
                                           render_info_html, render_matrix_png, render_message_png)

__all__ = ["ExplorerState", "KNOBS", "build_schedule", "render_matrix_png", "render_frames_png",
           "render_message_png", "render_info_html", "TimestepExplorer", "LiveState", "SamplerTrace",
           "run_live_sampler", "display_x0", "render_live_frames_png", "LiveSampler"]
