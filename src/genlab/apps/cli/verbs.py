"""The verbs of the `genlab` command: the module that registers each and its one line of help. `genlab --help`
lists them from here without importing a verb's module (so without PyTorch); `genlab VERB ...` imports only
that verb's module."""

from __future__ import annotations

from typing import NamedTuple


class Verb(NamedTuple):
    module: str  # the module of genlab.apps.cli whose register() adds the verb's parser
    help: str  # the line `genlab --help` shows


VERBS = {
    "train": Verb("train", "train a model"),
    "sample": Verb("sample", "draw samples into a PNG grid, an .npz or a folder of PNGs"),
    "reconstruct": Verb("latent", "images next to their reconstructions"),
    "interpolate": Verb("latent", "a path between two codes"),
    "traverse": Verb("latent", "sweep latent dimensions one at a time"),
    "eval": Verb("evaluate", "score a run (likelihood, FID/KID/PR/DC/IS, Parzen, mode coverage, translation quality)"),
    "compare": Verb("evaluate", "one table over several scored runs"),
    "translate": Verb("translate", "translate images or folders between the two domains"),
    "adapt": Verb("adapt", "domain adaptation: classifiers on source, translated and target images"),
    "export": Verb("export", "export a run's generators, decoders, encoders and translators as ONNX graphs"),
    "report": Verb("report", "one self-contained HTML page of a run (scores, curves, pictures, config)"),
    "serve": Verb("serve", "a local web page over trained runs"),
    "save-pretrained": Verb("pretrained", "a run's model as a folder in the Hugging Face Hub's layout, with its card"),
    "verify": Verb("verify", "check a run's checkpoint against its checksums (or record them anew)"),
    "config": Verb("config", "every config key of a model: type, default, meaning; and its presets"),
}


def help_of(verb: str) -> str:
    """The one line of help of ``verb``."""
    return VERBS[verb].help
