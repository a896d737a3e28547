"""spec2img: audio to editable spectrogram images and back."""
