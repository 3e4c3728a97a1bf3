"""Training losses: known answers on synthetic inputs."""

import torch

from flowstyle.training.losses import (
    LossWeights, attention_target, compute_losses, grid_energy, grid_loss, style_loss, style_stats,
)
from flowstyle.training.vgg import load_vgg


def test_grid_energy_flags_a_period_2_pattern_and_not_a_smooth_image():
    yy, xx = torch.meshgrid(torch.linspace(0, 1, 64), torch.linspace(0, 1, 64), indexing="ij")
    smooth = torch.stack([xx, yy, (xx + yy) / 2]).unsqueeze(0) * 0.8 + 0.1
    grid = smooth.clone()
    grid[..., ::2, ::2] += 0.1
    assert grid_energy(smooth).item() < 3
    assert grid_energy(grid).item() > 50
    assert grid_loss(smooth, smooth).item() == 0.0
    assert grid_loss(grid, smooth).item() > 1.0


def test_grid_loss_gradient_removes_the_pattern():
    base = torch.rand(1, 3, 32, 32) * 0.2 + 0.4
    x = base.clone()
    x[..., ::2, :] += 0.1
    x.requires_grad_(True)
    opt = torch.optim.Adam([x], lr=0.01)
    first = grid_loss(x, base).item()
    for _ in range(30):
        loss = grid_loss(x, base)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert grid_loss(x, base).item() < 0.5 * first


def test_style_loss_is_zero_against_its_own_statistics_and_content_terms():
    vgg = load_vgg()
    img = torch.rand(2, 3, 32, 32)
    feats = vgg(img)
    assert style_loss(feats, style_stats(feats)).item() < 1e-10
    terms = compute_losses(vgg, img, img, img, LossWeights(local=1.0, grid=1.0))
    assert terms.content.item() < 1e-10 and terms.style.item() < 1e-10 and terms.grid.item() == 0.0


def test_attention_target_of_identical_features_stays_close():
    f = torch.randn(1, 8, 6, 6) * 3
    assert attention_target(f, f).shape == f.shape
