"""research.lattice_variants: its variants filter exactly what the pipeline would."""

import torch

from flowstyle import Stylizer, StylizeOptions
from flowstyle.image.io import load_tensor
from flowstyle.image.lattice import remove_lattice
from research.lattice_variants import _unfiltered_padded, _variant


def test_variant_widths():
    assert _variant("1.5:1") == ("1.5:1", {"stripes": 1.5, "checker": 1.0})
    assert _variant("2") == ("2", {"stripes": 2.0, "checker": 2.0})


def test_a_variant_filtered_outside_is_the_pipelines_own_path(tiny_model, photos):
    """The kept padded output, filtered and cropped here, is what stylize_tensor gives with that
    filter (so the rows are the package's paths, not an imitation), and the stylizer is restored."""
    st = Stylizer(tiny_model)
    content, style = load_tensor(photos["astronaut"])[..., :48, :64], load_tensor(photos["coffee"])
    opts = StylizeOptions(recipe=dict(phases=2, grid_filter=0.0), pad=8)
    padded, base = _unfiltered_padded(st, content, style, opts)
    m = st.multiple
    for sigma, diagonal in ((1.5, 1.0), (2.0, 2.0)):
        ours = remove_lattice(padded, base, m, sigma, diagonal_sigma=diagonal)[..., 8:56, 8:72].clamp(0, 1)
        theirs = st.stylize_tensor(content, [style], options=opts.replace(recipe={**opts.recipe, "grid_filter": sigma, "grid_filter_diagonal": diagonal}))
        assert torch.allclose(ours, theirs, atol=1e-6)
    assert not torch.equal(st.stylize_tensor(content, [style], options=opts.replace(recipe={**opts.recipe, "grid_filter": 2.0})),
                           st.stylize_tensor(content, [style], options=opts))  # the real filter is back
