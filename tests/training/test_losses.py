"""Training losses: known answers on synthetic inputs."""

import torch

from flowstyle.training.losses import (
    laplacian_loss,
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


def test_range_loss_is_zero_inside_the_image_range_and_quadratic_outside():
    from flowstyle.training.losses import range_loss

    inside = torch.rand(2, 3, 8, 8)
    assert range_loss(inside).item() == 0.0
    out = torch.zeros(1, 1, 2, 2)
    out[0, 0, 0, 0] = 1.5  # 0.5 above
    out[0, 0, 1, 1] = -0.2  # 0.2 below
    assert abs(range_loss(out).item() - (0.25 + 0.04) / 4) < 1e-7


def test_shift_consistency_loss_is_zero_for_a_shift_equivariant_map():
    from flowstyle.training.losses import shift_consistency_loss

    image = torch.rand(1, 3, 20, 20)
    dy, dx = 1, 3
    a, b = image[..., :16, :16], image[..., dy:dy + 16, dx:dx + 16]
    assert shift_consistency_loss(a * 2, b * 2, dy, dx).item() == 0.0  # pointwise map: equivariant
    phase = torch.zeros(1, 3, 16, 16)
    phase[..., ::2, ::2] = 1.0  # a pattern fixed to the grid, not to the image
    assert shift_consistency_loss(a + phase, b + phase, dy, dx).item() > 0.1


def test_style_loss_is_the_batch_mean_of_the_per_image_losses():
    from flowstyle.training.losses import style_loss_per_image

    vgg = load_vgg()
    torch.manual_seed(0)
    out, style = torch.rand(3, 3, 32, 32), torch.rand(3, 3, 32, 32)
    target = style_stats(vgg(style))
    per_image = style_loss_per_image(vgg(out), target)
    assert per_image.shape == (3,)
    for i in range(3):  # each image against its own style equals the loss of that image alone
        alone = style_loss(vgg(out[i : i + 1]), style_stats(vgg(style[i : i + 1])))
        assert torch.allclose(per_image[i], alone, rtol=1e-5)
    assert torch.allclose(style_loss(vgg(out), target), per_image.mean())


def test_style_hinge_counts_only_outputs_further_from_the_style_than_their_content():
    from flowstyle.training.losses import style_hinge_loss

    content_to_style = torch.tensor([2.0, 2.0, 0.5])
    out_to_style = torch.tensor([1.0, 2.0, 1.0], requires_grad=True)  # closer, equal, twice as far
    hinge = style_hinge_loss(out_to_style, content_to_style)
    assert abs(hinge.item() - (1.0 / 0.5 - 1.0) / 3) < 1e-5  # only the third: style match -1
    hinge.backward()
    assert out_to_style.grad[0] == 0 and out_to_style.grad[1] == 0 and out_to_style.grad[2] > 0


def test_compute_losses_adds_the_hinge_only_when_weighted():
    vgg = load_vgg()
    torch.manual_seed(0)
    style = torch.rand(2, 3, 32, 32) * 0.3  # dark noise
    content = style + 0.05 * torch.rand(2, 3, 32, 32)  # close to it
    away = torch.full_like(style, 0.9)  # a flat bright output: far from the style
    plain = compute_losses(vgg, away, content, style, LossWeights())
    hinged = compute_losses(vgg, away, content, style, LossWeights(hinge=2.0))
    assert plain.hinge.item() == 0.0 and hinged.hinge.item() > 0
    assert torch.allclose(hinged.total, plain.total + 2.0 * hinged.hinge)


def test_laplacian_term_keeps_shapes_not_colours_or_fine_marks():
    torch.manual_seed(0)
    photo = torch.rand(1, 3, 32, 32).clamp(0.2, 0.8)
    assert laplacian_loss(photo, photo) == 0
    # a uniform change of colour has no Laplacian: free
    assert laplacian_loss(photo + 0.1, photo) < 1e-10
    # marks finer than the pooling average out; the photo's shapes dissolved cost far more
    fine = photo + 0.1 * torch.tensor([[1.0, -1.0], [-1.0, 1.0]]).repeat(16, 16)
    flat = photo.mean(dim=(2, 3), keepdim=True).expand_as(photo)
    assert laplacian_loss(fine, photo) < 1e-10 < laplacian_loss(flat, photo)
