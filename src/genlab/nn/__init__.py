"""Network building blocks (plain nn.Modules, no objectives)."""
from .conv import ConvDecoder, ConvEncoder, activation, downsampled_sizes

__all__ = ["ConvDecoder", "ConvEncoder", "activation", "downsampled_sizes"]
