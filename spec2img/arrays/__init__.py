"""Arrays from other tools: scipy and librosa spectrograms, NMF, mosaicing."""
