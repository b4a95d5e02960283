"""Network building blocks (plain nn.Modules, no objectives)."""
from .conv import ConvDecoder, ConvEncoder, activation, downsampled_sizes
from .inception import FIDInceptionV3, load_inception

__all__ = ["ConvDecoder", "ConvEncoder", "activation", "downsampled_sizes", "FIDInceptionV3", "load_inception"]
