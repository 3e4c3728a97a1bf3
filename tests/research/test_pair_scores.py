"""The research scripts' shared per-pair loop scores real outputs, pair by pair, in order."""

import torch

from flowstyle.eval.metrics import texture_features
from research.pair_scores import PairScores, grid_of, score_pairs


class Named:
    def __init__(self, tensor):
        self.tensor = tensor


def _image(seed: int, size: int = 64) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(1, 3, size, size, generator=g)


def test_the_content_itself_scores_zero_style_match_and_full_ssim():
    content, style = _image(0), _image(1) ** 3
    scores = score_pairs(lambda c, s: c, [(content, style)], grid=True)
    assert abs(scores.style_match[0]) < 1e-6
    assert scores.ssim[0] > 0.999
    assert abs(scores.grid[0] - 1) < 1e-6 and abs(scores.border[0] - 1) < 1e-6
    assert scores.clipped == scores.content_clipped


def test_the_style_itself_matches_it_and_counts_clipped_pixels():
    content, style = _image(2), (_image(3) > 0.5).float()  # every pixel at 0 or 1
    scores = score_pairs(lambda c, s: s, [(content, style)])
    assert scores.style_match[0] > 0.99
    assert scores.clipped == [100.0] and scores.grid == []
    assert scores.style_match_cell() == f"{scores.style_match[0]:+.2f} / {scores.style_match[0]:+.2f} / 0/1"


def test_texture_match_is_scored_only_with_the_styles_features():
    content, style = _image(4), _image(5) ** 3
    features = texture_features(style)
    scores = PairScores()
    scores.add(content, content, style, 0.1, texture=features)
    scores.add(style, content, style, 0.1, texture=features)
    assert abs(scores.texture_match[0]) < 1e-6 and abs(scores.texture_match[1] - 1) < 1e-6
    assert score_pairs(lambda c, s: s, [(content, style)]).texture_match == []


def test_grid_of_pairs_every_content_with_every_style_in_order():
    contents, styles = [Named(_image(i)) for i in range(2)], [Named(_image(10 + i)) for i in range(3)]
    pairs = grid_of(contents, styles)
    assert len(pairs) == 6
    assert pairs[1][0] is contents[0].tensor and pairs[1][1] is styles[1].tensor
    seen = []
    scores = score_pairs(lambda c, s: seen.append((c, s)) or c, pairs)
    assert [id(c) for c, _ in seen] == [id(c) for c, _ in pairs] and len(scores.seconds) == 6


def test_scoring_with_precomputed_features_gives_the_same_values():
    from flowstyle.eval.metrics import Features

    content, style = _image(6), _image(7) ** 2
    out = (content * 0.6 + style * 0.4).clamp(0, 1)
    slow, fast = PairScores(), PairScores()
    slow.add(out, content, style, 0.1, texture=texture_features(style))
    fast.add_with(out, Features.of(content), Features.of(style), content, 0.1)
    for name in ("style_match", "texture_match", "ssim", "clipped", "content_clipped", "seconds"):
        assert getattr(fast, name) == getattr(slow, name), name
