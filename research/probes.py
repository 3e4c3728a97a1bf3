"""What the photo x art probes of research/ share: their arguments, their image pairs and where
their tables go (patch_probe, refine_probe, blowout)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from flowstyle.eval.runners import NamedImage, image_paths, load_images


def pair_parser(threads: int = 1) -> argparse.ArgumentParser:
    """--model, --content, --styles, --size, --max-images, --max-styles, --threads, --out."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="artflow-adain")
    ap.add_argument("--content", required=True)
    ap.add_argument("--styles", required=True)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--max-images", type=int, default=None)
    ap.add_argument("--max-styles", type=int, default=None)
    ap.add_argument("--threads", type=int, default=threads)
    ap.add_argument("--out", required=True)
    return ap


def load_pairs(args: argparse.Namespace) -> tuple[list[NamedImage], list[NamedImage], Path]:
    """Set the threads, load contents and styles at --size, create --out: (contents, styles, out)."""
    torch.set_num_threads(args.threads)
    contents = load_images(image_paths([args.content], args.max_images), args.size)
    styles = load_images(image_paths([args.styles], args.max_styles), args.size)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    return contents, styles, out


def save_table(out: Path, lines: list[str], rows, indent: int | None = None) -> None:
    """Print the table and write it (table.md) with the raw rows (rows.json)."""
    text = "\n".join(lines)
    print(text)
    (out / "table.md").write_text(text + "\n")
    (out / "rows.json").write_text(json.dumps(rows, indent=indent))
