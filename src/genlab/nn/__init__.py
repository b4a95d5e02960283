"""Network building blocks (plain nn.Modules, no objectives)."""

from .conv import ConvDecoder, ConvEncoder, activation, downsampled_sizes
from .inception import FIDInceptionV3, load_inception
from .resnet import PatchDiscriminator, RefinerNet, ResnetGenerator

__all__ = [
    "ConvDecoder",
    "ConvEncoder",
    "FIDInceptionV3",
    "PatchDiscriminator",
    "RefinerNet",
    "ResnetGenerator",
    "activation",
    "downsampled_sizes",
    "load_inception",
]
