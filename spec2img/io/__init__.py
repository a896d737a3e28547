"""Files: PNG with metadata (one bounded header reader), the spectrogram image type, kept-phase images, dataset.json, audio, atomic writes."""
