"""Files: PNG with metadata (one bounded header reader), the spectrogram image type, audio, atomic writes."""
