"""The Textual console. Only this package (and the lab) may import textual or rich."""
